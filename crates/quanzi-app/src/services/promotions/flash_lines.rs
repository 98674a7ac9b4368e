//! Cart lines bought under a flash-sale reservation (秒杀价). The storefront names the
//! reservation on the line; the line is priced at the sale's flash price, for at most the
//! reserved quantity, and takes part in no other promotion (秒杀商品不与其他优惠同享,
//! the rule shoppers know): the solver prices the rest of the cart, and the flash lines
//! are put back beside it with their own explanation.

use std::collections::BTreeMap;

use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::promotions::pricing::{
    Allocation, AppliedOffer, Offer, OfferKind, Priced, PricedLine, Stage,
};
use quanzi_domain::time::Timestamp;

use super::checkout::{CartItem, OfferSource};
use crate::{App, Error, Result};

/// One cart line priced at a flash price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlashLine {
    /// Index into the cart's items.
    pub line: usize,
    pub sku: String,
    pub list_fen: i64,
    /// What the line costs: the flash price per unit (never more than the list price).
    pub final_fen: i64,
    pub reservation_id: String,
    pub sale_id: String,
    pub sale_name: String,
    pub flash_price_fen: i64,
    /// Units on this line, and units the reservation holds (over all its lines).
    pub quantity: i64,
    pub reserved_quantity: i64,
    /// When the reservation lapses: a checkout holds nothing longer.
    pub expires_at: Timestamp,
}

impl FlashLine {
    pub fn offer_id(&self) -> String {
        format!("flash:{}", self.reservation_id)
    }

    /// The offer as the explanation names it.
    pub fn offer(&self) -> (Offer, OfferSource) {
        let prices = BTreeMap::from([(self.sku.clone(), self.flash_price_fen)]);
        (
            Offer::new(self.offer_id(), OfferKind::ActivityPrice { prices }).label(&self.sale_name),
            OfferSource::Flash {
                sale_id: self.sale_id.clone(),
                reservation_id: self.reservation_id.clone(),
            },
        )
    }
}

fn field(line: usize) -> String {
    format!("items[{line}].flash_reservation_id")
}

/// Checks every line that names a reservation: it must be `member`'s (under the id the
/// caller gave or the one it merged into), still reserved and unexpired, for the line's
/// SKU, and the lines naming it may not ask for more than it holds.
pub async fn resolve(
    app: &App,
    ws: &WorkspaceId,
    members: [&str; 2],
    items: &[CartItem],
    now: Timestamp,
) -> Result<Vec<FlashLine>> {
    let mut lines = Vec::new();
    let mut claimed: BTreeMap<String, i64> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let Some(id) = &item.flash_reservation_id else {
            continue;
        };
        let not_theirs = || -> Error {
            InvalidInput::new(
                field(i),
                format!("`{id}` is not a reservation of this member"),
            )
            .into()
        };
        let reservation = match app.store.flash_reservation(ws, id).await {
            Ok(r) => r,
            Err(quanzi_store::StoreError::NotFound) => return Err(not_theirs()),
            Err(err) => return Err(err.into()),
        };
        // Made under a member since merged into this one: it is theirs too.
        if !members.contains(&reservation.member_id.as_str())
            && !matches!(app.store.member(ws, &reservation.member_id).await,
                Ok(live) if members.contains(&live.id.as_str()))
        {
            return Err(not_theirs());
        }
        if reservation.status != "reserved" || reservation.expires_at <= now {
            let state = if reservation.status == "reserved" {
                "expired"
            } else {
                reservation.status.as_str()
            };
            return Err(Error::conflict(
                "reservation_not_reserved",
                format!("reservation {id} is {state}: the flash price no longer holds"),
            ));
        }
        if reservation.sku != item.sku {
            return Err(InvalidInput::new(
                field(i),
                format!("`{id}` reserves `{}`, not `{}`", reservation.sku, item.sku),
            )
            .into());
        }
        let total = claimed.entry(id.clone()).or_default();
        *total += item.quantity;
        if *total > reservation.quantity {
            return Err(InvalidInput::new(
                format!("items[{i}].quantity"),
                format!(
                    "`{id}` holds {} at the flash price; buy more on a line of its own",
                    reservation.quantity
                ),
            )
            .into());
        }
        let (sale, skus) = app
            .store
            .flash_sale(ws, &reservation.sale_id)
            .await
            .map_err(Error::not_found("flash_sale"))?;
        let Some(flash_price_fen) = skus
            .iter()
            .find(|s| s.sku == item.sku)
            .map(|s| s.flash_price_fen)
        else {
            return Err(Error::Internal(anyhow::anyhow!(
                "reservation {id} names a SKU its sale does not sell"
            )));
        };
        if item
            .floor_unit_fen
            .is_some_and(|floor| floor > flash_price_fen)
        {
            return Err(InvalidInput::new(
                format!("items[{i}].floor_unit_fen"),
                "is above the flash price this line is reserved at",
            )
            .into());
        }
        let list_fen = item.unit_price_fen.saturating_mul(item.quantity);
        lines.push(FlashLine {
            line: i,
            sku: item.sku.clone(),
            list_fen,
            final_fen: list_fen.min(flash_price_fen.saturating_mul(item.quantity)),
            reservation_id: id.clone(),
            sale_id: sale.id,
            sale_name: sale.name,
            flash_price_fen,
            quantity: item.quantity,
            reserved_quantity: reservation.quantity,
            expires_at: reservation.expires_at,
        });
    }
    Ok(lines)
}

/// Puts the flash lines back beside the solver's price of the other lines. `rest` maps
/// each line the solver saw to its index in the cart.
pub fn put_back(mut priced: Priced, rest: &[usize], flash: &[FlashLine]) -> Priced {
    for applied in &mut priced.applied {
        for allocation in &mut applied.allocations {
            allocation.line = rest[allocation.line];
        }
    }
    for line in &mut priced.lines {
        line.line = rest[line.line];
    }
    let mut applied: Vec<AppliedOffer> = Vec::with_capacity(flash.len() + priced.applied.len());
    for f in flash {
        let savings = f.list_fen - f.final_fen;
        priced.subtotal_fen += f.list_fen;
        priced.discount_fen += savings;
        priced.lines.push(PricedLine {
            line: f.line,
            sku: f.sku.clone(),
            list_fen: f.list_fen,
            discounts: if savings > 0 {
                vec![(f.offer_id(), savings)]
            } else {
                Vec::new()
            },
            final_fen: f.final_fen,
        });
        // One reservation over several lines is one offer with an allocation per line.
        if let Some(offer) = applied.iter_mut().find(|a| a.offer_id == f.offer_id()) {
            offer.savings_fen += savings;
            if savings > 0 {
                offer.allocations.push(Allocation {
                    line: f.line,
                    fen: savings,
                });
            }
            continue;
        }
        applied.push(AppliedOffer {
            offer_id: f.offer_id(),
            stage: Stage::ActivityPrice,
            savings_fen: savings,
            allocations: if savings > 0 {
                vec![Allocation {
                    line: f.line,
                    fen: savings,
                }]
            } else {
                Vec::new()
            },
            shipping_fen: 0,
            points: 0,
            gift_coupons: Vec::new(),
        });
    }
    // Flash prices come first, as activity prices do in the pipeline.
    applied.append(&mut priced.applied);
    priced.applied = applied;
    priced.lines.sort_by_key(|l| l.line);
    priced.total_fen = priced.subtotal_fen - priced.discount_fen + priced.shipping_fen
        - priced.shipping_discount_fen;
    priced
}

#[cfg(test)]
mod tests {
    use super::*;
    use quanzi_domain::promotions::pricing::{solve, Cart, Line, PricingRequest};

    fn flash_line(line: usize, list_fen: i64, final_fen: i64) -> FlashLine {
        FlashLine {
            line,
            sku: "tea".into(),
            list_fen,
            final_fen,
            reservation_id: format!("rsv_{line}"),
            sale_id: "fls_1".into(),
            sale_name: "秒杀".into(),
            flash_price_fen: final_fen,
            quantity: 1,
            reserved_quantity: 1,
            expires_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn flash_lines_go_back_in_cart_order_and_the_totals_still_add_up() {
        // Cart: cup (0), flash tea (1), pot (2), flash tea (3); 10 % off the rest.
        let rest = vec![0, 2];
        let request = PricingRequest {
            cart: Cart {
                lines: vec![
                    Line::new("cup", "ware", 10_000, 1),
                    Line::new("pot", "ware", 5_000, 2),
                ],
                shipping_fen: 800,
            },
            offers: vec![Offer::new(
                "tier",
                OfferKind::TierDiscount { discount_bp: 1000 },
            )],
            chosen_coupons: None,
        };
        let priced = put_back(
            solve(&request),
            &rest,
            &[flash_line(1, 20_000, 9_900), flash_line(3, 5_000, 5_000)],
        );
        let order: Vec<usize> = priced.lines.iter().map(|l| l.line).collect();
        assert_eq!(order, [0, 1, 2, 3]);
        assert_eq!(priced.subtotal_fen, 10_000 + 20_000 + 10_000 + 5_000);
        assert_eq!(priced.discount_fen, 2_000 + 10_100);
        assert_eq!(
            priced.total_fen,
            priced.subtotal_fen - priced.discount_fen + 800
        );
        let line_sum: i64 = priced.lines.iter().map(|l| l.final_fen).sum();
        assert_eq!(line_sum + 800, priced.total_fen);
        // The tier discount landed on the non-flash lines, under their cart indexes.
        let tier = priced
            .applied
            .iter()
            .find(|a| a.offer_id == "tier")
            .unwrap();
        assert!(tier.allocations.iter().all(|a| a.line == 0 || a.line == 2));
        assert_eq!(priced.applied[0].offer_id, "flash:rsv_1");
        assert_eq!(priced.applied[0].savings_fen, 10_100);
        // A flash price not below the list price gives nothing and explains nothing.
        assert!(priced.lines[3].discounts.is_empty());
    }

    #[test]
    fn one_reservation_over_two_lines_is_one_offer_with_two_allocations() {
        let request = PricingRequest {
            cart: Cart::default(),
            offers: Vec::new(),
            chosen_coupons: None,
        };
        let (mut a, mut b) = (flash_line(0, 20_000, 9_900), flash_line(1, 20_000, 9_900));
        a.reservation_id = "rsv_shared".into();
        b.reservation_id = "rsv_shared".into();
        let priced = put_back(solve(&request), &[], &[a, b]);
        assert_eq!(priced.applied.len(), 1);
        assert_eq!(priced.applied[0].savings_fen, 20_200);
        let lines: Vec<usize> = priced.applied[0]
            .allocations
            .iter()
            .map(|x| x.line)
            .collect();
        assert_eq!(lines, [0, 1]);
        assert_eq!(priced.total_fen, 19_800);
    }
}
