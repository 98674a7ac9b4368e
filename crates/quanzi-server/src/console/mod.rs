//! The operator console: server-rendered HTML under `/console`, in zh-CN or English, with
//! charts drawn as inline SVG. Pages read through the app's services directly (the same
//! checks as the API); forms are plain HTML that a small script submits to the JSON API
//! with the session's CSRF token, so every rule and every error message is the API's, shown
//! next to the field it names. Login works without the script.
//!
//! # Layout
//! - `session`: the logged-in operator of a page request (or a redirect to the login).
//! - `lang`: the language of a request (`?lang=`, the `quanzi_lang` cookie,
//!   `Accept-Language`; Chinese by default).
//! - `layout`: the page shell (navigation, workspace, language switch, logout).
//! - `assets`: the stylesheet and the form script, served with the binary.
//! - `format`: yuan, percentages, counts and times as operators read them.
//! - `chart`: inline SVG charts with hover values.
//! - `login`: log in and out, switch workspaces.
//! - `widgets`: form fields, CSV export, action buttons, page responses.
//! - `dashboard`: the overview.
//! - `promotions`: coupon templates with budget and liability, and their form.
//! - `flash_sales`: flash sales (秒杀) with slot, prices, stock left, reservations by
//!   outcome and sold-out state, and their form.
//! - `members`: search by any identity, the member list, a member's whole profile.
//! - `retention`: the cohort heat map, optionally by acquisition channel.
//! - `rfm`: the recency × frequency grid, RFM segments and lifecycle stages.
//! - `clv`: lifetime value parameters, P(alive) spread, the most valuable members.
//! - `funnel`: the funnel chart, time to convert, breakdown.
//! - `alerts`, `experiments`, `attribution`: analytics — rules and fired alerts with each
//!   metric's band, experiments with their results and SRM warning, models side by side.
//! - `social`: referral K-factor by generation, group buys, bargains, the fraud queue,
//!   group-buy and bargain set-up forms.
//! - `referral_tree`: the largest invite trees of a referral program as inline SVG.
//! - `distribution`: distribution (分销) settings, promoters with their commissions, the
//!   withdrawal review queue.
//! - `settings`: operators and roles, API keys, the audit log.
//! - `loyalty`: points liability, sources and sinks, the mall, the settings document.
//! - `pricing`: the cart-pricing sandbox with its line-by-line explanation.
//! - `segments`: saved segments, the condition builder and its preview count.

mod alerts;
mod assets;
mod attribution;
mod chart;
mod clv;
mod dashboard;
mod distribution;
mod experiments;
mod flash_sales;
mod format;
mod funnel;
mod lang;
mod layout;
mod login;
mod loyalty;
mod members;
mod pricing;
mod promotions;
mod referral_tree;
mod retention;
mod rfm;
mod segments;
mod session;
mod settings;
mod social;
mod widgets;

use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

pub use lang::Lang;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::to("/console/dashboard") }),
        )
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/workspace", post(login::switch_workspace))
        .route("/console/lang", get(lang::switch))
        .route("/console/assets/{name}", get(assets::serve))
        .route("/console/dashboard", get(dashboard::page))
        .route("/console/promotions/coupons", get(promotions::coupons_page))
        .route("/console/promotions/flash-sales", get(flash_sales::page))
        .route("/console/promotions/pricing", get(pricing::page))
        .route("/console/segments", get(segments::page))
        .route("/console/analytics/alerts", get(alerts::page))
        .route(
            "/console/analytics/experiments",
            get(experiments::list_page),
        )
        .route(
            "/console/analytics/experiments/{key}",
            get(experiments::results_page),
        )
        .route("/console/analytics/attribution", get(attribution::page))
        .route("/console/analytics/funnel", get(funnel::page))
        .route("/console/analytics/clv", get(clv::page))
        .route("/console/analytics/retention", get(retention::page))
        .route("/console/analytics/rfm", get(rfm::page))
        .route("/console/social", get(social::page))
        .route("/console/social/distribution", get(distribution::page))
        .route("/console/loyalty", get(loyalty::page))
        .route("/console/settings", get(settings::page))
        .route("/console/members", get(members::search_page))
        .route("/console/members/{id}", get(members::profile_page))
}
