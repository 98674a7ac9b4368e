//! The OpenAPI 3 document, generated from the handlers' annotations and the wire types.

use axum::response::{IntoResponse, Response};
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    alerts, analytics, api_keys, audit, bargains, carts, checkins, coupons, distribution, events,
    experiments, flash_sales, fraud, group_buys, jobs, loyalty, mall, members, operators, orders,
    privacy, promotions, referrals, rfm, segments, sessions, tags, tiers, workspace,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "quanzi API",
        description = "The social-commerce growth engine's JSON API. Authenticate with `Authorization: Bearer qz_…` \
                       (an API key with scopes ingest, storefront or admin) or the console's session cookie. \
                       Errors share one shape: `{\"error\":{\"code\",\"message\",\"field\"?}}`. State-changing routes \
                       marked so accept `Idempotency-Key`."
    ),
    paths(
        workspace::current, workspace::update,
        audit::list,
        operators::create, operators::list, operators::get_one,
        api_keys::create, api_keys::list, api_keys::get_one, api_keys::revoke,
        sessions::login, sessions::current, sessions::logout,
        jobs::enqueue_probes, jobs::list, jobs::get_one, jobs::retry,
        members::identify, members::search, members::get_one, members::lookup, members::timeline, members::refresh_rfm,
        events::ingest,
        orders::create, orders::get_one, orders::refund,
        segments::preview, segments::create, segments::list, segments::get_one, segments::refresh, segments::export, segments::of_member,
        privacy::set_consent, privacy::consents, privacy::export, privacy::erase,
        tags::create_group, tags::list_groups, tags::create_tag, tags::of_member, tags::tag_member, tags::untag_member,
        loyalty::transfers, loyalty::points, loyalty::lots, loyalty::pending, loyalty::history, loyalty::adjust,
        loyalty::liability, loyalty::reconciliation, loyalty::get_settings, loyalty::put_settings,
        checkins::check_in, checkins::make_up, checkins::calendar,
        mall::create_item, mall::list_items, mall::redeem, mall::cancel, mall::of_member,
        tiers::of_member,
        coupons::create_template, coupons::list_templates, coupons::get_template, coupons::pause_template,
        coupons::resume_template, coupons::claim, coupons::grant, coupons::of_member, coupons::get_coupon,
        coupons::revoke, coupons::liability_report,
        promotions::create, promotions::list, promotions::pause, promotions::resume,
        carts::price, carts::checkout, carts::cancel_checkout,
        flash_sales::create, flash_sales::list, flash_sales::get_sale, flash_sales::cancel_sale, flash_sales::reserve,
        flash_sales::reservations, flash_sales::cancel, flash_sales::complete,
        group_buys::create, group_buys::list, group_buys::get_campaign, group_buys::open,
        group_buys::open_groups, group_buys::join, group_buys::get_group, group_buys::stats,
        bargains::create, bargains::list, bargains::start, bargains::get_bargain, bargains::help,
        bargains::purchase,
        referrals::create, referrals::list, referrals::stats, referrals::invite_code, referrals::bind,
        referrals::of_member,
        distribution::get_settings, distribution::put_settings, distribution::add_promoter,
        distribution::bind, distribution::dashboard, distribution::withdraw, distribution::review,
        fraud::get_rules, fraud::put_rules, fraud::flags, fraud::review,
        analytics::metric_series, analytics::overview, analytics::attribute, analytics::run_funnel, analytics::lifetime_value, analytics::run_retention, rfm::distribution,
        alerts::create_rule, alerts::list_rules, alerts::update_rule, alerts::delete_rule,
        alerts::list_alerts, alerts::acknowledge,
        experiments::create, experiments::list, experiments::get_one, experiments::start,
        experiments::stop, experiments::assign, experiments::get_results,
    ),
    components(schemas(crate::error::ErrorBody, crate::error::ErrorDetail)),
    modifiers(&Security),
    tags(
        (name = "workspace", description = "The brand's workspace and its audit log"),
        (name = "operators", description = "Console accounts and roles"),
        (name = "keys", description = "API keys for storefronts, mini-programs and back ends"),
        (name = "sessions", description = "Console login"),
        (name = "jobs", description = "The durable background job queue"),
        (name = "members", description = "OneID: members, identities, profiles, timelines"),
        (name = "events", description = "Behaviour event ingestion"),
        (name = "orders", description = "Paid orders and refunds"),
        (name = "segments", description = "Audiences by condition: preview, save, export"),
        (name = "privacy", description = "PIPL: marketing consent, member export and erasure"),
        (name = "tags", description = "Interest tag groups and tags, manual and rule-driven"),
        (name = "loyalty", description = "The points ledger: transfers, holds, lots, history, adjustments, liability, settings"),
        (name = "social", description = "Group buying (拼团), bargaining (砍价), referral fission (裂变), distribution (分销)"),
        (name = "analytics", description = "Metric series with seasonal baselines, overview, anomaly alerts, experiments, funnels, retention, RFM, attribution, lifetime value"),
        (name = "promotions", description = "Coupons, spend-threshold rules, timed discounts, cart pricing, checkout locks, flash sales, liability"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("qz_…")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("quanzi_session"))),
        );
    }
}

pub async fn document() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

/// (method, path, summary) of every documented operation, for the status page.
pub fn operations() -> Vec<(String, String, String)> {
    let doc = ApiDoc::openapi();
    let mut out = Vec::new();
    for (path, item) in doc.paths.paths {
        let ops = [
            ("GET", &item.get),
            ("POST", &item.post),
            ("PUT", &item.put),
            ("PATCH", &item.patch),
            ("DELETE", &item.delete),
        ];
        for (method, op) in ops {
            if let Some(op) = op {
                let summary = op
                    .summary
                    .clone()
                    .or(op.description.clone())
                    .unwrap_or_default();
                out.push((method.to_owned(), path.clone(), summary));
            }
        }
    }
    out
}
