//! The crossed-out "original price" check (价格欺诈).
//!
//! Under the SAMR rules on price marking (明码标价和禁止价格欺诈规定, art. 19), an
//! "original price" shown next to a promotion must be the lowest price the SKU actually
//! sold for in the 7 days before the promotion; if nothing sold in those days, the last
//! price it sold for before them. A discount price may never exceed the original.

use std::time::Duration;

use crate::time::Timestamp;

/// How far back the reference price looks.
pub const LOOKBACK: Duration = Duration::from_secs(7 * 86_400);

/// What sold before a promotion starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SalesBefore {
    /// Lowest unit price paid in the 7 days before the start.
    pub lowest_in_lookback_fen: Option<i64>,
    /// The unit price of the last sale before the start, however long ago.
    pub last_before_fen: Option<i64>,
}

impl SalesBefore {
    /// The price an "original price" may not exceed, when the SKU ever sold.
    pub fn reference_fen(self) -> Option<i64> {
        self.lowest_in_lookback_fen.or(self.last_before_fen)
    }
}

/// A problem with a shown original price.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceViolation {
    /// The promotion price is not below the original price.
    DiscountNotLower { original_fen: i64, price_fen: i64 },
    /// The original price is above what the SKU really sold for.
    OriginalAboveReference {
        original_fen: i64,
        reference_fen: i64,
    },
}

impl PriceViolation {
    pub fn code(self) -> &'static str {
        match self {
            PriceViolation::DiscountNotLower { .. } => "discount_not_lower",
            PriceViolation::OriginalAboveReference { .. } => "false_original_price",
        }
    }

    pub fn message(self) -> String {
        match self {
            PriceViolation::DiscountNotLower {
                original_fen,
                price_fen,
            } => format!(
                "the promotion price {price_fen} fen must be below the original price {original_fen} fen"
            ),
            PriceViolation::OriginalAboveReference {
                original_fen,
                reference_fen,
            } => format!(
                "the original price {original_fen} fen is above the lowest price actually paid before the promotion ({reference_fen} fen): show at most that"
            ),
        }
    }
}

/// The result of checking one SKU: what was compared and what is wrong, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceCheck {
    pub reference_fen: Option<i64>,
    pub violation: Option<PriceViolation>,
}

/// Checks a promotion price against the original price it shows.
pub fn check_original_price(original_fen: i64, price_fen: i64, sales: SalesBefore) -> PriceCheck {
    let reference_fen = sales.reference_fen();
    let violation = if price_fen >= original_fen {
        Some(PriceViolation::DiscountNotLower {
            original_fen,
            price_fen,
        })
    } else {
        reference_fen
            .filter(|reference| original_fen > *reference)
            .map(|reference_fen| PriceViolation::OriginalAboveReference {
                original_fen,
                reference_fen,
            })
    };
    PriceCheck {
        reference_fen,
        violation,
    }
}

/// The start of the lookback window for a promotion starting at `start`.
pub fn lookback_start(start: Timestamp) -> Timestamp {
    start.minus(LOOKBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sales(lowest: Option<i64>, last: Option<i64>) -> SalesBefore {
        SalesBefore {
            lowest_in_lookback_fen: lowest,
            last_before_fen: last,
        }
    }

    #[test]
    fn an_original_price_above_the_lowest_price_of_the_last_seven_days_is_false() {
        let check = check_original_price(19_900, 9_900, sales(Some(15_900), Some(15_900)));
        assert_eq!(check.violation.unwrap().code(), "false_original_price");
        let check = check_original_price(15_900, 9_900, sales(Some(15_900), Some(19_900)));
        assert_eq!(check.violation, None);
    }

    #[test]
    fn without_sales_in_the_lookback_the_last_sale_is_the_reference() {
        let check = check_original_price(19_900, 9_900, sales(None, Some(12_000)));
        assert_eq!(check.reference_fen, Some(12_000));
        assert!(check.violation.is_some());
    }

    #[test]
    fn a_sku_that_never_sold_has_no_reference_and_passes() {
        let check = check_original_price(19_900, 9_900, sales(None, None));
        assert_eq!(
            check,
            PriceCheck {
                reference_fen: None,
                violation: None
            }
        );
    }

    #[test]
    fn a_discount_price_may_never_reach_the_original() {
        let check = check_original_price(9_900, 9_900, sales(None, None));
        assert_eq!(check.violation.unwrap().code(), "discount_not_lower");
    }
}
