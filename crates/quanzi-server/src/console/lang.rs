//! The console's language: `?lang=` (which the switch link turns into a cookie), then the
//! `quanzi_lang` cookie, then `Accept-Language`; Chinese when nothing decides.

use axum::extract::Query;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE, SET_COOKIE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::status_page::negotiate;
pub use crate::status_page::Lang;

const LANG_COOKIE: &str = "quanzi_lang";

impl Lang {
    /// The text for this language.
    pub fn pick(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::ZhCn => zh,
            Lang::En => en,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::ZhCn => Lang::En,
            Lang::En => Lang::ZhCn,
        }
    }
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LANG_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// The language of a console request.
pub fn of(headers: &HeaderMap) -> Lang {
    let chosen = cookie(headers);
    negotiate(
        chosen.as_deref(),
        headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()),
    )
}

#[derive(Deserialize)]
pub struct SwitchQuery {
    to: String,
    back: Option<String>,
}

/// Remembers the chosen language for a year and goes back to the page.
pub async fn switch(Query(q): Query<SwitchQuery>) -> Response {
    let lang = if q.to == "en" { "en" } else { "zh-CN" };
    // Only paths inside the console: never an open redirect.
    let back = q
        .back
        .filter(|b| b.starts_with("/console") && !b.starts_with("//"))
        .unwrap_or_else(|| "/console/dashboard".into());
    (
        [(
            SET_COOKIE,
            format!("{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000"),
        )],
        Redirect::to(&back),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_beats_the_browser_and_chinese_is_the_default() {
        let mut headers = HeaderMap::new();
        assert_eq!(of(&headers), Lang::ZhCn);
        headers.insert(ACCEPT_LANGUAGE, "en-US,en;q=0.9".parse().unwrap());
        assert_eq!(of(&headers), Lang::En);
        headers.insert(COOKIE, "a=b; quanzi_lang=zh-CN".parse().unwrap());
        assert_eq!(of(&headers), Lang::ZhCn);
    }
}
