//! The operator behind a console page: the session cookie resolved through the same
//! service as the API. Without a valid session a page redirects to the login, coming back
//! afterwards.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use quanzi_app::principal::Principal;
use quanzi_app::services::sessions;
use quanzi_domain::ids::WorkspaceId;

use super::lang::{self, Lang};
use super::layout::encode;
use crate::middleware::auth::session_cookie;
use crate::state::AppState;

/// A logged-in operator's page request.
pub struct Console {
    pub principal: Principal,
    pub csrf_token: String,
    pub lang: Lang,
    /// The requested path with its query, for links back to this page.
    pub path: String,
    /// The operator's workspaces as (id, name), for the switch in the page header.
    pub workspaces: Vec<(WorkspaceId, String)>,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let path = parts
            .uri
            .path_and_query()
            .map_or("/console/dashboard".to_owned(), |p| p.as_str().to_owned());
        let to_login =
            || Redirect::to(&format!("/console/login?next={}", encode(&path))).into_response();
        let Some(cookie) = session_cookie(&parts.headers) else {
            return Err(to_login());
        };
        let Ok(session) = sessions::authenticate(&state.app, &cookie).await else {
            return Err(to_login());
        };
        // The header still renders if the list cannot be read: the page is what matters.
        let workspaces = match sessions::workspaces_of(&state.app, &session.principal).await {
            Ok(all) => all,
            Err(err) => {
                tracing::warn!(error = %err, "cannot list the operator's workspaces");
                Vec::new()
            }
        };
        Ok(Console {
            principal: session.principal,
            csrf_token: session.csrf_token,
            lang: lang::of(&parts.headers),
            path,
            workspaces,
        })
    }
}
