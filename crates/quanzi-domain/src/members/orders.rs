//! Paid orders and refunds, in fen. The order's own discount (coupons, spend-threshold
//! rules) is spread over its lines in proportion to their amounts, so a refund of some
//! units returns exactly what those units cost the buyer, and refunding everything returns
//! exactly what was paid.

use crate::input::InvalidInput;

/// ¥100,000,000 per unit: far above any real price, low enough that totals cannot overflow.
const MAX_UNIT_PRICE_FEN: i64 = 10_000_000_000;
/// ¥100,000 shipping.
const MAX_SHIPPING_FEN: i64 = 10_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrderItem {
    pub sku: String,
    pub category: Option<String>,
    pub name: Option<String>,
    pub quantity: i64,
    pub unit_price_fen: i64,
    /// Discount on this line alone (a SKU's timed discount), in fen.
    pub discount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub items: Vec<NewOrderItem>,
    /// Discount on the whole order (coupons, spend-threshold rules), in fen.
    pub order_discount_fen: i64,
    pub shipping_fen: i64,
}

/// A stored line with what the buyer actually paid for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLine {
    pub line: i64,
    pub quantity: i64,
    /// Paid for the whole line after line and order discounts.
    pub net_fen: i64,
    pub refunded_quantity: i64,
    pub refunded_fen: i64,
}

impl NewOrder {
    /// Checks the order and returns (lines, items total, amount paid).
    pub fn priced(&self) -> Result<(Vec<OrderLine>, i64, i64), InvalidInput> {
        if self.items.is_empty() || self.items.len() > 500 {
            return Err(InvalidInput::new("items", "an order needs 1 to 500 items"));
        }
        let mut line_amounts = Vec::with_capacity(self.items.len());
        for (i, item) in self.items.iter().enumerate() {
            let field = |name: &str| format!("items[{i}].{name}");
            if item.sku.trim().is_empty() || item.sku.len() > 64 {
                return Err(InvalidInput::new(
                    field("sku"),
                    "must be 1 to 64 characters",
                ));
            }
            if !(1..=1_000_000).contains(&item.quantity) {
                return Err(InvalidInput::new(
                    field("quantity"),
                    "must be between 1 and 1000000",
                ));
            }
            if !(0..=MAX_UNIT_PRICE_FEN).contains(&item.unit_price_fen) {
                return Err(InvalidInput::new(
                    field("unit_price_fen"),
                    "must be between 0 and 10000000000 fen",
                ));
            }
            let gross = item.unit_price_fen * item.quantity;
            if item.discount_fen < 0 || item.discount_fen > gross {
                return Err(InvalidInput::new(
                    field("discount_fen"),
                    "must be between 0 and the line's price times quantity",
                ));
            }
            line_amounts.push(gross - item.discount_fen);
        }
        let items_total: i64 = line_amounts.iter().sum();
        if self.order_discount_fen < 0 || self.order_discount_fen > items_total {
            return Err(InvalidInput::new(
                "order_discount_fen",
                "must be between 0 and the items' total",
            ));
        }
        if !(0..=MAX_SHIPPING_FEN).contains(&self.shipping_fen) {
            return Err(InvalidInput::new(
                "shipping_fen",
                "must be between 0 and 10000000 fen",
            ));
        }
        let shares = spread(self.order_discount_fen, &line_amounts);
        let lines = line_amounts
            .iter()
            .zip(shares)
            .zip(&self.items)
            .enumerate()
            .map(|(i, ((amount, share), item))| OrderLine {
                line: i as i64,
                quantity: item.quantity,
                net_fen: amount - share,
                refunded_quantity: 0,
                refunded_fen: 0,
            })
            .collect();
        Ok((
            lines,
            items_total,
            items_total - self.order_discount_fen + self.shipping_fen,
        ))
    }
}

/// Splits `total` over `weights` in proportion, largest remainders first, so the parts add
/// up to `total` exactly (ties go to the earlier line: deterministic).
fn spread(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i64 = weights.iter().sum();
    if sum == 0 || total == 0 {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<i64> = weights
        .iter()
        .map(|w| (total as i128 * *w as i128 / sum as i128) as i64)
        .collect();
    let mut remainders: Vec<(i128, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| ((total as i128 * *w as i128) % sum as i128, i))
        .collect();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let short = total - parts.iter().sum::<i64>();
    for (_, i) in remainders.into_iter().take(short as usize) {
        parts[i] += 1;
    }
    parts
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRequest {
    /// Everything not yet refunded, shipping included.
    Full,
    /// Some units of some lines.
    Lines(Vec<(i64, i64)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundLine {
    pub line: i64,
    pub quantity: i64,
    pub amount_fen: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundPlan {
    pub lines: Vec<RefundLine>,
    pub shipping_fen: i64,
    pub total_fen: i64,
}

/// What a refund returns: for `q` of a line's `n` units, the units' share of the line's net
/// amount; the last units of a line take the rounding remainder, so a line refunded in
/// pieces returns its net amount exactly. Shipping is returned only by a full refund.
pub fn allocate_refund(
    lines: &[OrderLine],
    shipping_fen: i64,
    shipping_refunded: bool,
    request: &RefundRequest,
) -> Result<RefundPlan, InvalidInput> {
    let wanted: Vec<(i64, i64)> = match request {
        RefundRequest::Full => lines
            .iter()
            .filter(|l| l.refunded_quantity < l.quantity)
            .map(|l| (l.line, l.quantity - l.refunded_quantity))
            .collect(),
        RefundRequest::Lines(wanted) => wanted.clone(),
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, (line_no, quantity)) in wanted.iter().enumerate() {
        let field = |name: &str| format!("items[{i}].{name}");
        let line = lines.iter().find(|l| l.line == *line_no).ok_or_else(|| {
            InvalidInput::new(field("line"), format!("the order has no line {line_no}"))
        })?;
        if !seen.insert(*line_no) {
            return Err(InvalidInput::new(
                field("line"),
                "each line may appear once per refund",
            ));
        }
        let left = line.quantity - line.refunded_quantity;
        if *quantity < 1 || *quantity > left {
            return Err(InvalidInput::new(
                field("quantity"),
                format!(
                    "must be between 1 and {left}, the units of line {line_no} not yet refunded"
                ),
            ));
        }
        let amount = if *quantity == left {
            line.net_fen - line.refunded_fen
        } else {
            (line.net_fen as i128 * *quantity as i128 / line.quantity as i128) as i64
        };
        out.push(RefundLine {
            line: *line_no,
            quantity: *quantity,
            amount_fen: amount,
        });
    }
    let shipping = match request {
        RefundRequest::Full if !shipping_refunded => shipping_fen,
        _ => 0,
    };
    // A full refund after every unit went back piece by piece still returns the shipping.
    if out.is_empty() && shipping == 0 {
        return Err(InvalidInput::new(
            "items",
            "nothing is left to refund on this order",
        ));
    }
    let total = out.iter().map(|l| l.amount_fen).sum::<i64>() + shipping;
    Ok(RefundPlan {
        lines: out,
        shipping_fen: shipping,
        total_fen: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(quantity: i64, unit: i64) -> NewOrderItem {
        NewOrderItem {
            sku: "sku".into(),
            category: None,
            name: None,
            quantity,
            unit_price_fen: unit,
            discount_fen: 0,
        }
    }

    #[test]
    fn the_order_discount_is_spread_in_proportion_and_adds_up() {
        let order = NewOrder {
            items: vec![item(1, 100), item(2, 100), item(1, 1)],
            order_discount_fen: 100,
            shipping_fen: 800,
        };
        let (lines, items_total, paid) = order.priced().unwrap();
        assert_eq!(items_total, 301);
        assert_eq!(paid, 301 - 100 + 800);
        assert_eq!(lines.iter().map(|l| l.net_fen).sum::<i64>(), 201);
        assert_eq!(
            lines.iter().map(|l| l.net_fen).collect::<Vec<_>>(),
            vec![67, 133, 1]
        );
    }

    #[test]
    fn bad_orders_name_the_field() {
        let err = NewOrder {
            items: vec![item(0, 100)],
            order_discount_fen: 0,
            shipping_fen: 0,
        }
        .priced()
        .unwrap_err();
        assert_eq!(err.field(), "items[0].quantity");
        let err = NewOrder {
            items: vec![item(1, 100)],
            order_discount_fen: 101,
            shipping_fen: 0,
        }
        .priced()
        .unwrap_err();
        assert_eq!(err.field(), "order_discount_fen");
        assert_eq!(
            NewOrder {
                items: vec![],
                order_discount_fen: 0,
                shipping_fen: 0
            }
            .priced()
            .unwrap_err()
            .field(),
            "items"
        );
    }

    #[test]
    fn refunds_by_unit_take_their_share_and_the_last_unit_takes_the_rest() {
        let (mut lines, _, _) = NewOrder {
            items: vec![item(3, 100)],
            order_discount_fen: 1,
            shipping_fen: 0,
        }
        .priced()
        .unwrap();
        assert_eq!(lines[0].net_fen, 299);
        let first = allocate_refund(&lines, 0, false, &RefundRequest::Lines(vec![(0, 1)])).unwrap();
        assert_eq!(first.total_fen, 99);
        lines[0].refunded_quantity = 1;
        lines[0].refunded_fen = 99;
        let rest = allocate_refund(&lines, 0, false, &RefundRequest::Lines(vec![(0, 2)])).unwrap();
        assert_eq!(rest.total_fen, 200);
        lines[0].refunded_quantity = 3;
        lines[0].refunded_fen = 299;
        assert!(allocate_refund(&lines, 0, false, &RefundRequest::Lines(vec![(0, 1)])).is_err());
        assert!(allocate_refund(&lines, 0, false, &RefundRequest::Full).is_err());
        assert_eq!(
            allocate_refund(&lines, 50, false, &RefundRequest::Full)
                .unwrap()
                .total_fen,
            50
        );
    }

    #[test]
    fn only_a_full_refund_returns_shipping_and_only_once() {
        let (lines, _, paid) = NewOrder {
            items: vec![item(1, 500)],
            order_discount_fen: 0,
            shipping_fen: 600,
        }
        .priced()
        .unwrap();
        let plan = allocate_refund(&lines, 600, false, &RefundRequest::Full).unwrap();
        assert_eq!(plan.total_fen, paid);
        assert_eq!(
            allocate_refund(&lines, 600, false, &RefundRequest::Lines(vec![(0, 1)]))
                .unwrap()
                .shipping_fen,
            0
        );
        assert_eq!(
            allocate_refund(&lines, 600, true, &RefundRequest::Full)
                .unwrap()
                .shipping_fen,
            0
        );
    }

    proptest! {
        #[test]
        fn refunds_in_any_pieces_never_return_more_than_was_paid(
            quantities in prop::collection::vec(1i64..6, 1..5),
            prices in prop::collection::vec(0i64..10_000, 5),
            discount_ratio in 0.0f64..1.0,
            shipping in 0i64..2_000,
            steps in prop::collection::vec((0usize..5, 1i64..4), 0..12),
        ) {
            let items: Vec<NewOrderItem> = quantities.iter().enumerate().map(|(i, q)| item(*q, prices[i])).collect();
            let gross: i64 = items.iter().map(|i| i.quantity * i.unit_price_fen).sum();
            let order = NewOrder { items, order_discount_fen: (gross as f64 * discount_ratio) as i64, shipping_fen: shipping };
            let (mut lines, _, paid) = order.priced().unwrap();
            let mut refunded = 0;
            let mut shipping_refunded = false;
            for (line, quantity) in steps {
                if let Ok(plan) = allocate_refund(&lines, shipping, shipping_refunded, &RefundRequest::Lines(vec![(line as i64, quantity)])) {
                    for l in &plan.lines {
                        let stored = &mut lines[l.line as usize];
                        stored.refunded_quantity += l.quantity;
                        stored.refunded_fen += l.amount_fen;
                    }
                    refunded += plan.total_fen;
                }
            }
            if let Ok(plan) = allocate_refund(&lines, shipping, shipping_refunded, &RefundRequest::Full) {
                refunded += plan.total_fen;
                shipping_refunded = true;
            }
            prop_assert!(shipping_refunded || shipping == 0);
            prop_assert_eq!(refunded, paid);
        }
    }
}
