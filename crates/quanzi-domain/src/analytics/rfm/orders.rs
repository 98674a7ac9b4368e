//! The orders table in columnar form: one row per order, customers as dense codes.

use crate::input::InvalidInput;

/// Orders as parallel columns: row `i` is an order by customer `customer[i]` at `ts[i]`
/// (seconds since the Unix epoch, UTC) of `amount_fen[i]`, of which `refunded_fen[i]` was
/// refunded (0 without that column).
///
/// Rows may come in any order. Customer codes index dense per-customer arrays, so they
/// should be `0..customers` (as interning gives them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orders {
    customer: Vec<u32>,
    ts: Vec<i64>,
    amount_fen: Vec<i64>,
    refunded_fen: Option<Vec<i64>>,
    customer_count: u32,
}

impl Orders {
    /// Customer counts are `u32`, so a table holds at most this many orders.
    pub const MAX_ORDERS: usize = u32::MAX as usize;

    /// Checks that the columns have one length, amounts are not negative and no refund
    /// exceeds its order's amount. Errors name the 1-based row.
    pub fn new(
        customer: Vec<u32>,
        ts: Vec<i64>,
        amount_fen: Vec<i64>,
        refunded_fen: Option<Vec<i64>>,
    ) -> Result<Self, InvalidInput> {
        let len = customer.len();
        if ts.len() != len
            || amount_fen.len() != len
            || refunded_fen.as_ref().is_some_and(|r| r.len() != len)
        {
            return Err(InvalidInput::new(
                "orders",
                "customer, ts, amount and refunded columns must have the same length",
            ));
        }
        if len > Self::MAX_ORDERS {
            return Err(InvalidInput::new(
                "orders",
                format!(
                    "at most {} orders can be analysed at once",
                    Self::MAX_ORDERS
                ),
            ));
        }
        if let Some(row) = amount_fen.iter().position(|&a| a < 0) {
            return Err(InvalidInput::new(
                "amount_fen",
                format!("row {}: must not be negative", row + 1),
            ));
        }
        if let Some(refunded) = &refunded_fen {
            let bad = refunded
                .iter()
                .zip(&amount_fen)
                .position(|(&r, &a)| r < 0 || r > a);
            if let Some(row) = bad {
                return Err(InvalidInput::new(
                    "refunded_fen",
                    format!(
                        "row {}: must be between 0 and the order's amount ({})",
                        row + 1,
                        amount_fen[row]
                    ),
                ));
            }
        }
        let customer_count = customer.iter().max().map_or(0, |&c| c + 1);
        Ok(Self {
            customer,
            ts,
            amount_fen,
            refunded_fen,
            customer_count,
        })
    }

    /// As [`Self::new`] for columns the CSV reader has already checked row by row.
    pub(crate) fn checked(
        customer: Vec<u32>,
        ts: Vec<i64>,
        amount_fen: Vec<i64>,
        refunded_fen: Option<Vec<i64>>,
        customer_count: u32,
    ) -> Self {
        debug_assert!(customer.iter().all(|&c| c < customer_count));
        Self {
            customer,
            ts,
            amount_fen,
            refunded_fen,
            customer_count,
        }
    }

    pub fn len(&self) -> usize {
        self.customer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customer.is_empty()
    }

    pub fn customer(&self) -> &[u32] {
        &self.customer
    }

    pub fn ts(&self) -> &[i64] {
        &self.ts
    }

    pub fn amount_fen(&self) -> &[i64] {
        &self.amount_fen
    }

    pub fn refunded_fen(&self) -> Option<&[i64]> {
        self.refunded_fen.as_deref()
    }

    /// One more than the largest customer code (the number of customers for dense codes).
    pub fn customer_count(&self) -> u32 {
        self.customer_count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_checked_once() {
        let orders = Orders::new(vec![0, 2], vec![1, 2], vec![100, 50], Some(vec![0, 50])).unwrap();
        assert_eq!(orders.customer_count(), 3);
        assert_eq!(orders.len(), 2);
        assert!(Orders::new(vec![0], vec![1, 2], vec![1], None).is_err());
        let error = Orders::new(vec![0, 1], vec![1, 2], vec![5, -1], None).unwrap_err();
        assert_eq!(error.field(), "amount_fen");
        assert!(error.message().starts_with("row 2:"), "{error}");
        let error = Orders::new(vec![0], vec![1], vec![5], Some(vec![6])).unwrap_err();
        assert_eq!(error.field(), "refunded_fen");
    }
}
