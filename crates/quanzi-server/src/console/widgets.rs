//! Pieces every page uses: a labelled form field, a table toolbar with CSV export, an
//! action button that posts to the API, and turning a page's result into a response.

use axum::response::{Html, IntoResponse, Response};
use maud::{html, Markup};

use super::layout;
use super::session::Console;
use super::Lang;
use crate::error::ApiError;

/// A labelled input whose `name` is the API's field, so the API's error lands under it.
pub fn field(label: &str, input: Markup, hint: Option<&str>) -> Markup {
    html! {
        div.field {
            label { (label) }
            (input)
            @if let Some(hint) = hint { div.note { (hint) } }
        }
    }
}

/// "Export CSV" for the table with `id`, saved as `name.csv`.
pub fn export_link(lang: Lang, table_id: &str, name: &str) -> Markup {
    html! {
        a.export href="#" data-export=(table_id) data-name=(name) { (lang.pick("导出 CSV", "Export CSV")) }
    }
}

/// A one-button form that posts `{}` to an API path and reloads the page.
pub fn action(api: &str, label: &str) -> Markup {
    action_with("POST", api, label)
}

/// A one-button form that sends `{}` to an API path with `method` and reloads the page.
pub fn action_with(method: &str, api: &str, label: &str) -> Markup {
    html! {
        form.inline data-api=(api) data-method=(method) {
            button.link type="submit" { (label) }
        }
    }
}

/// The page, or the error on a console page with the API's status and message.
pub fn respond(console: &Console, result: Result<Markup, ApiError>) -> Response {
    match result {
        Ok(markup) => Html(markup.into_string()).into_response(),
        Err(err) => {
            let parts = err.parts();
            let lang = console.lang;
            let title = match parts.status.as_u16() {
                404 => lang.pick("没有找到", "Not found"),
                403 => lang.pick("没有权限", "Not allowed"),
                400..=499 => lang.pick("请求有误", "Bad request"),
                _ => lang.pick("出错了", "Something went wrong"),
            };
            let body = html! {
                section.panel.warning role="alert" {
                    p { (parts.message) }
                    @if let Some(field) = &parts.field { p.note { (field) } }
                    p { a href="/console/dashboard" { (lang.pick("返回概览", "Back to the overview")) } }
                }
            };
            (
                parts.status,
                Html(layout::page(console, title, body).into_string()),
            )
                .into_response()
        }
    }
}
