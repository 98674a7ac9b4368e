//! Logging in and out of the console: a plain HTML form (works without the script) that
//! uses the same login service, throttle and cookie as the API; switching workspaces.

use axum::extract::{Form, Query, State};
use axum::http::header::{HeaderMap, SET_COOKIE};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use maud::html;
use quanzi_app::services::sessions;
use serde::Deserialize;

use super::lang::{self, Lang};
use super::layout::bare;
use super::session::Console;
use super::widgets::respond;
use crate::middleware::auth::session_cookie;
use crate::routes::sessions::{session_set_cookie, ClientAddress, CLEAR_SESSION_COOKIE};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only paths inside the console, so the login is never an open redirect.
fn safe_next(next: Option<String>) -> String {
    next.filter(|n| n.starts_with("/console") && !n.starts_with("//"))
        .unwrap_or_else(|| "/console/dashboard".into())
}

fn render(lang: Lang, next: &str, email: &str, error: Option<&str>) -> Html<String> {
    let title = lang.pick("登录圈子控制台", "Log in to quanzi");
    Html(
        bare(
            lang,
            title,
            html! {
                form.login method="post" action="/console/login" {
                    h1 { (title) }
                    @if let Some(error) = error { div.form-error role="alert" { (error) } }
                    input type="hidden" name="next" value=(next);
                    label for="email" { (lang.pick("邮箱", "Email")) }
                    input #email type="email" name="email" value=(email) required autofocus;
                    label for="password" { (lang.pick("密码", "Password")) }
                    input #password type="password" name="password" required;
                    button type="submit" { (lang.pick("登录", "Log in")) }
                    p.note {
                        a href=(format!("/console/lang?to={}&back=/console/login", lang.other().code())) {
                            (lang.pick("English", "中文"))
                        }
                    }
                }
            },
        )
        .into_string(),
    )
}

pub async fn form(headers: HeaderMap, Query(q): Query<NextQuery>) -> Html<String> {
    render(lang::of(&headers), &safe_next(q.next), "", None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let lang = lang::of(&headers);
    let next = safe_next(f.next);
    match sessions::login(&state.app, &f.email, &f.password, &address, None).await {
        Ok(logged_in) => (
            [(SET_COOKIE, session_set_cookie(&state, &logged_in))],
            Redirect::to(&next),
        )
            .into_response(),
        Err(err) => {
            let (status, message) = match err {
                quanzi_app::Error::RateLimited { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    match lang {
                        Lang::ZhCn => {
                            format!("尝试次数过多，请 {} 秒后再试", retry_after.as_secs())
                        }
                        Lang::En => format!(
                            "too many attempts; try again in {} seconds",
                            retry_after.as_secs()
                        ),
                    },
                ),
                quanzi_app::Error::Invalid(_) | quanzi_app::Error::Unauthenticated(_) => (
                    StatusCode::UNAUTHORIZED,
                    lang.pick("邮箱或密码不正确", "The email or password is wrong")
                        .to_owned(),
                ),
                _ => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    lang.pick(
                        "登录暂时不可用，请稍后再试",
                        "Login is unavailable; try again later",
                    )
                    .to_owned(),
                ),
            };
            (status, render(lang, &next, &f.email, Some(&message))).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

/// Ends the session (the form carries the CSRF token) and returns to the login.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LogoutForm>,
) -> Response {
    if let Some(cookie) = session_cookie(&headers) {
        if let Ok(session) = sessions::authenticate(&state.app, &cookie).await {
            if !sessions::csrf_matches(&session.csrf_token, &f.csrf) {
                return StatusCode::FORBIDDEN.into_response();
            }
            if let Err(err) = sessions::logout(&state.app, &session.principal).await {
                tracing::warn!(error = %err, "logout failed");
            }
        }
    }
    (
        [(SET_COOKIE, CLEAR_SESSION_COOKIE)],
        Redirect::to("/console/login"),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct SwitchForm {
    csrf: String,
    workspace_id: String,
}

/// Moves the session to another of the operator's workspaces (the form carries the CSRF
/// token) and opens its overview with the new session's cookie.
pub async fn switch_workspace(
    State(state): State<AppState>,
    console: Console,
    Form(f): Form<SwitchForm>,
) -> Response {
    if !sessions::csrf_matches(&console.csrf_token, &f.csrf) {
        return StatusCode::FORBIDDEN.into_response();
    }
    match sessions::switch_workspace(&state.app, &console.principal, &f.workspace_id).await {
        Ok(switched) => (
            [(SET_COOKIE, session_set_cookie(&state, &switched))],
            Redirect::to("/console/dashboard"),
        )
            .into_response(),
        Err(err) => respond(&console, Err(err.into())),
    }
}
