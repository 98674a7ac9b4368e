//! The cart-pricing sandbox: an operator types a member and a cart (one line per item:
//! `sku, category, price in yuan, quantity`) and sees the price the storefront would get —
//! every discount on every line, the offers applied, and why the others were not.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{html, Markup};
use quanzi_app::services::promotions::checkout::{self, CartInput, CartItem};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::promotions::pricing::Reason;
use serde::Deserialize;

use super::format::yuan;
use super::layout;
use super::session::Console;
use super::widgets::{field, respond};
use super::Lang;
use crate::error::ApiError;
use crate::routes::carts::describe;
use crate::state::AppState;

#[derive(Deserialize, Default)]
pub struct SandboxQuery {
    member: Option<String>,
    cart: Option<String>,
    shipping: Option<f64>,
}

const EXAMPLE: &str = "tea-oolong, tea, 68, 2\ncup-glass, teaware, 39.9, 1";

/// Parses the cart lines; errors name the line.
fn parse_cart(raw: &str) -> Result<Vec<CartItem>, InvalidInput> {
    raw.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, line)| {
            let bad = || {
                InvalidInput::new(
                    "cart",
                    format!(
                        "line {}: write `sku, category, price in yuan, quantity`",
                        i + 1
                    ),
                )
            };
            let parts: Vec<&str> = line.split(',').map(str::trim).collect();
            let [sku, category, price, quantity] = parts[..] else {
                return Err(bad());
            };
            let price: f64 = price.parse().map_err(|_| bad())?;
            let quantity: i64 = quantity.parse().map_err(|_| bad())?;
            if !(price.is_finite() && price >= 0.0) || sku.is_empty() {
                return Err(bad());
            }
            Ok(CartItem {
                sku: sku.to_owned(),
                category: category.to_owned(),
                unit_price_fen: (price * 100.0).round() as i64,
                quantity,
                floor_unit_fen: None,
                flash_reservation_id: None,
            })
        })
        .collect()
}

fn reason(lang: Lang, r: &Reason) -> String {
    match r {
        Reason::NoEligibleItems => lang
            .pick("购物车里没有适用商品", "no eligible items in the cart")
            .into(),
        Reason::BelowThreshold { missing } => format!(
            "{}{}",
            lang.pick("未达门槛，还差 ", "below the threshold, short by "),
            missing
        ),
        Reason::NoBenefit => lang.pick("加入后没有优惠", "would give nothing").into(),
        Reason::NotCombinable { with } => format!(
            "{}{with}",
            lang.pick("不能与以下优惠叠加：", "does not combine with ")
        ),
        Reason::NotBetter => lang
            .pick("有更优的组合", "a better combination exists")
            .into(),
    }
}

async fn render(state: &AppState, console: &Console, q: SandboxQuery) -> Result<Markup, ApiError> {
    let lang = console.lang;
    let cart_text = q.cart.clone().unwrap_or_else(|| EXAMPLE.to_owned());
    let quote = match (&q.member, &q.cart) {
        (Some(member), Some(cart)) if !member.trim().is_empty() => Some(
            checkout::price(
                &state.app,
                &console.principal,
                CartInput {
                    member_id: member.trim().to_owned(),
                    items: parse_cart(cart)?,
                    shipping_fen: (q.shipping.unwrap_or(0.0) * 100.0).round() as i64,
                    coupons: None,
                },
            )
            .await?,
        ),
        _ => None,
    };
    let body = html! {
        form.panel method="get" action="/console/promotions/pricing" {
            div.grid2 {
                div {
                    (field(lang.pick("会员 ID", "Member id"), html! { input name="member" value=(q.member.clone().unwrap_or_default()) placeholder="mem_…" required; }, None))
                    (field(lang.pick("运费（元）", "Shipping (yuan)"), html! { input name="shipping" type="number" step="0.01" value=(q.shipping.unwrap_or(0.0)); }, None))
                }
                div {
                    (field(lang.pick("购物车（每行：SKU, 类目, 单价元, 数量）", "Cart (per line: sku, category, price in yuan, quantity)"),
                        html! { textarea name="cart" rows="5" { (cart_text) } }, None))
                }
            }
            button type="submit" { (lang.pick("试算", "Price it")) }
        }
        @if let Some(quote) = &quote {
            @let p = &quote.priced;
            div.cards {
                div.card { div.label { (lang.pick("商品合计", "Subtotal")) } div.value { (yuan(p.subtotal_fen)) } }
                div.card { div.label { (lang.pick("优惠", "Discount")) } div.value { (yuan(p.discount_fen + p.shipping_discount_fen)) } }
                div.card { div.label { (lang.pick("应付", "Total")) } div.value #pricing-total { (yuan(p.total_fen)) } }
                div.card { div.label { (lang.pick("赠送积分", "Points granted")) } div.value { (p.points()) } }
            }
            section.panel {
                h2 { (lang.pick("逐行明细", "Line by line")) }
                table { thead { tr {
                    th { "SKU" } th.num { (lang.pick("原价", "List")) } th { (lang.pick("承担的优惠", "Discounts borne")) } th.num { (lang.pick("实付", "Final")) }
                } } tbody {
                    @for l in &p.lines { tr {
                        td { (l.sku) } td.num { (yuan(l.list_fen)) }
                        td { @for (offer, fen) in &l.discounts { div { (describe(quote, offer).0) " −" (yuan(*fen)) } } }
                        td.num { (yuan(l.final_fen)) }
                    } }
                    tr { td { (lang.pick("运费", "Shipping")) } td.num { (yuan(p.shipping_fen)) } td { @if p.shipping_discount_fen > 0 { "−" (yuan(p.shipping_discount_fen)) } } td.num { (yuan(p.shipping_fen - p.shipping_discount_fen)) } }
                } }
            }
            div.grid2 {
                section.panel {
                    h2 { (lang.pick("已使用的优惠", "Applied")) }
                    ul { @for a in &p.applied { li { (describe(quote, &a.offer_id).0) " — " (yuan(a.savings_fen + a.shipping_fen))
                        @if a.points > 0 { " + " (a.points) (lang.pick(" 积分", " points")) } } } }
                }
                section.panel {
                    h2 { (lang.pick("未使用的优惠及原因", "Not applied, and why")) }
                    ul {
                        @for n in &p.not_applied { li { (describe(quote, &n.offer_id).0) ": " (reason(lang, &n.reason)) } }
                        @for (id, refusal) in &quote.unusable { li { (id) ": " (refusal.message()) } }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        console,
        lang.pick("算价沙盒", "Pricing sandbox"),
        body,
    ))
}

pub async fn page(
    State(state): State<AppState>,
    console: Console,
    Query(q): Query<SandboxQuery>,
) -> Response {
    respond(&console, render(&state, &console, q).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cart_lines_are_read_in_yuan_and_bad_lines_are_named() {
        let items = parse_cart("a, tea, 68.5, 2\n\n b ,cups, 1, 1").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].unit_price_fen, 6850);
        assert_eq!(items[1].sku, "b");
        let err = parse_cart("a, tea, 1, 1\na, tea, free, 1")
            .err()
            .expect("line 2 is refused");
        assert!(err.message().starts_with("line 2"), "{}", err.message());
    }
}
