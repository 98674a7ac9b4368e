//! RFM over an orders table: per-customer recency, frequency and monetary value, their
//! quintile scores and segments, with the same definitions as the member profile.

use std::fmt;

use super::orders::Orders;
use super::quintiles::Quintiles;
use super::segment::Segment;
use crate::members::RfmScore;

const SECONDS_PER_DAY: i64 = 86_400;

/// One customer's RFM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomerRfm {
    customer: u32,
    recency_days: i64,
    frequency: u32,
    monetary_fen: i64,
    score: RfmScore,
    segment: Segment,
}

impl CustomerRfm {
    /// The customer's code in the orders table.
    pub fn customer(&self) -> u32 {
        self.customer
    }

    /// Whole days from the customer's last order to the as-of time.
    pub fn recency_days(&self) -> i64 {
        self.recency_days
    }

    /// Orders up to the as-of time.
    pub fn frequency(&self) -> u32 {
        self.frequency
    }

    /// Paid minus refunded, in fen.
    pub fn monetary_fen(&self) -> i64 {
        self.monetary_fen
    }

    pub fn score(&self) -> RfmScore {
        self.score
    }

    pub fn segment(&self) -> Segment {
        self.segment
    }
}

/// How many customers got each segment and each score.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RfmSummary {
    segments: [usize; 11],
    recency: [usize; 5],
    frequency: [usize; 5],
    monetary: [usize; 5],
}

impl RfmSummary {
    /// Counts one customer's score (each part 1–5) and says its segment.
    pub fn add(&mut self, score: RfmScore) -> Segment {
        let segment = Segment::of(score);
        self.segments[segment.index()] += 1;
        self.recency[usize::from(score.recency - 1)] += 1;
        self.frequency[usize::from(score.frequency - 1)] += 1;
        self.monetary[usize::from(score.monetary - 1)] += 1;
        segment
    }

    /// Customers per segment, in the order of [`Segment::ALL`].
    pub fn segments(&self) -> [(Segment, usize); 11] {
        Segment::ALL.map(|segment| (segment, self.segments[segment.index()]))
    }

    /// Customers in `segment`.
    pub fn segment(&self, segment: Segment) -> usize {
        self.segments[segment.index()]
    }

    /// Customers with recency score 1, 2, 3, 4 and 5.
    pub fn recency(&self) -> [usize; 5] {
        self.recency
    }

    pub fn frequency(&self) -> [usize; 5] {
        self.frequency
    }

    pub fn monetary(&self) -> [usize; 5] {
        self.monetary
    }
}

/// What was computed: the as-of time and what was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RfmDefinition {
    as_of: i64,
    customers: usize,
    orders: usize,
    later_orders: usize,
}

impl RfmDefinition {
    /// Seconds since the Unix epoch.
    pub fn as_of(&self) -> i64 {
        self.as_of
    }

    /// Customers with at least one order up to the as-of time.
    pub fn customers(&self) -> usize {
        self.customers
    }

    /// Orders up to the as-of time.
    pub fn orders(&self) -> usize {
        self.orders
    }

    /// Orders after the as-of time, left out.
    pub fn later_orders(&self) -> usize {
        self.later_orders
    }
}

impl fmt::Display for RfmDefinition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let as_of = crate::time::Timestamp::from_millis(self.as_of.saturating_mul(1000));
        write!(
            f,
            "rfm as of {}: {} customers, {} orders (recency = whole days since the last order, \
             frequency = orders, monetary = paid − refunded fen; quintile scores 1–5, ties \
             share the score of their first sorted position)",
            as_of.to_rfc3339(),
            self.customers,
            self.orders
        )?;
        if self.later_orders > 0 {
            write!(f, "; {} later orders left out", self.later_orders)?;
        }
        Ok(())
    }
}

/// Every customer's RFM with the summary and the definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rfm {
    customers: Vec<CustomerRfm>,
    summary: RfmSummary,
    definition: RfmDefinition,
}

impl Rfm {
    /// Customers with orders up to the as-of time, by customer code.
    pub fn customers(&self) -> &[CustomerRfm] {
        &self.customers
    }

    pub fn summary(&self) -> &RfmSummary {
        &self.summary
    }

    pub fn definition(&self) -> &RfmDefinition {
        &self.definition
    }
}

/// Per-customer totals while aggregating (16 bytes, so more of them stay in cache).
#[derive(Debug, Clone, Copy)]
struct Totals {
    /// Whole days from the latest order to the as-of time: the least over the orders, as
    /// flooring is monotone.
    days: u32,
    orders: u32,
    monetary: i64,
}

const NO_ORDERS: Totals = Totals {
    days: u32::MAX,
    orders: 0,
    monetary: 0,
};

/// RFM of every customer with an order at or before `as_of` (seconds since the epoch;
/// later orders are left out), on up to `threads` threads.
///
/// The definitions are the member profile's ([`crate::members::rfm_scores`]): recency is
/// whole days from the last order to `as_of`, frequency the number of orders, monetary the
/// amounts paid minus refunded; each is scored 1–5 by quintile among these customers
/// (fewer days score higher), ties sharing the score of their first sorted position.
/// Segments follow [`Segment::of`]. The result does not depend on the order of the rows.
pub fn rfm(orders: &Orders, as_of: i64, threads: usize) -> Rfm {
    let count = orders.customer_count() as usize;
    let rows = orders.len();
    let threads = threads.clamp(1, rows.max(1));
    // Each thread adds up a range of rows into its own totals; the first thread's totals
    // then take in the others'.
    let parts: Vec<(Vec<Totals>, usize)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let range = rows * t / threads..rows * (t + 1) / threads;
                scope.spawn(move || aggregate(orders, as_of, range, count))
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("aggregation does not panic"))
            .collect()
    });
    let mut parts = parts.into_iter();
    let (mut totals, mut later_orders) =
        parts.next().unwrap_or_else(|| (vec![NO_ORDERS; count], 0));
    for (more, later) in parts {
        later_orders += later;
        for (t, m) in totals.iter_mut().zip(more) {
            t.days = t.days.min(m.days);
            t.orders += m.orders;
            t.monetary += m.monetary;
        }
    }

    let buyers: Vec<u32> = (0..count as u32)
        .filter(|&c| totals[c as usize].orders > 0)
        .collect();
    // Recency is scored on the negated days so that fewer days score higher.
    let recency: Vec<i64> = buyers
        .iter()
        .map(|&c| -i64::from(totals[c as usize].days))
        .collect();
    let frequency: Vec<i64> = buyers
        .iter()
        .map(|&c| i64::from(totals[c as usize].orders))
        .collect();
    let monetary: Vec<i64> = buyers
        .iter()
        .map(|&c| totals[c as usize].monetary)
        .collect();
    let (monetary_cuts, (recency_cuts, frequency_cuts)) = if threads > 1 {
        std::thread::scope(|scope| {
            let money = scope.spawn(|| Quintiles::of(&monetary));
            let others = (Quintiles::of(&recency), Quintiles::of(&frequency));
            (money.join().expect("quintiles do not panic"), others)
        })
    } else {
        (
            Quintiles::of(&monetary),
            (Quintiles::of(&recency), Quintiles::of(&frequency)),
        )
    };

    let mut summary = RfmSummary::default();
    let customers: Vec<CustomerRfm> = buyers
        .iter()
        .enumerate()
        .map(|(i, &customer)| {
            let score = RfmScore {
                recency: recency_cuts.score(recency[i]),
                frequency: frequency_cuts.score(frequency[i]),
                monetary: monetary_cuts.score(monetary[i]),
            };
            let segment = summary.add(score);
            CustomerRfm {
                customer,
                recency_days: -recency[i],
                frequency: totals[customer as usize].orders,
                monetary_fen: monetary[i],
                score,
                segment,
            }
        })
        .collect();
    let definition = RfmDefinition {
        as_of,
        customers: customers.len(),
        orders: orders.len() - later_orders,
        later_orders,
    };
    Rfm {
        customers,
        summary,
        definition,
    }
}

/// Whole days from `last` to `as_of` (`last` is not later), as the member profile counts
/// them.
pub(crate) fn days_between(last: i64, as_of: i64) -> i64 {
    as_of.saturating_sub(last).max(0) / SECONDS_PER_DAY
}

/// Adds up rows `range` of the orders at or before `as_of` by customer; returns the
/// totals and how many of these rows came later.
fn aggregate(
    orders: &Orders,
    as_of: i64,
    range: std::ops::Range<usize>,
    customers: usize,
) -> (Vec<Totals>, usize) {
    let mut totals = vec![NO_ORDERS; customers];
    let mut later = 0;
    let codes = &orders.customer()[range.clone()];
    let ts = &orders.ts()[range.clone()];
    let amounts = &orders.amount_fen()[range.clone()];
    let refunded = orders.refunded_fen().map(|r| &r[range]);
    // Reading the totals a few rows ahead starts their cache misses early, so that several
    // are in flight at once.
    const AHEAD: usize = 16;
    let mut touched = 0u32;
    for i in 0..codes.len() {
        if let Some(&next) = codes.get(i + AHEAD) {
            touched ^= totals[next as usize].orders;
        }
        if ts[i] > as_of {
            later += 1;
            continue;
        }
        let net = amounts[i] - refunded.map_or(0, |r| r[i]);
        // Beyond u32::MAX days (eleven million years) the count saturates.
        let days = u32::try_from(days_between(ts[i], as_of)).unwrap_or(u32::MAX);
        let t = &mut totals[codes[i] as usize];
        t.days = t.days.min(days);
        t.orders += 1;
        t.monetary += net;
    }
    std::hint::black_box(touched);
    (totals, later)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn a_hand_example_matches_the_definitions() {
        // Customer 0: two orders, the last 1.5 days before as-of, 300 + 200 − 50 fen.
        // Customer 1: one order 10 days before, 1000 fen. Customer 2: only a later order.
        let as_of = 100 * DAY;
        let orders = Orders::new(
            vec![0, 1, 0, 2],
            vec![
                as_of - 5 * DAY,
                as_of - 10 * DAY,
                as_of - DAY - DAY / 2,
                as_of + 1,
            ],
            vec![300, 1000, 200, 700],
            Some(vec![0, 0, 50, 0]),
        )
        .unwrap();
        for threads in [1, 2, 3] {
            let result = rfm(&orders, as_of, threads);
            let c = result.customers();
            assert_eq!(c.len(), 2);
            assert_eq!(
                (
                    c[0].customer(),
                    c[0].recency_days(),
                    c[0].frequency(),
                    c[0].monetary_fen()
                ),
                (0, 1, 2, 450)
            );
            assert_eq!(
                (
                    c[1].customer(),
                    c[1].recency_days(),
                    c[1].frequency(),
                    c[1].monetary_fen()
                ),
                (1, 10, 1, 1000)
            );
            // Two customers: positions 0 and 1 score 1 and 1 + 5 / 2 = 3.
            assert_eq!(c[0].score().code(), "331");
            assert_eq!(c[1].score().code(), "113");
            assert_eq!(c[0].segment(), Segment::NeedAttention);
            assert_eq!(c[1].segment(), Segment::Lost);
            let d = result.definition();
            assert_eq!((d.customers(), d.orders(), d.later_orders()), (2, 3, 1));
            assert!(d.to_string().contains("1 later orders left out"), "{d}");
            assert_eq!(result.summary().frequency(), [1, 0, 1, 0, 0]);
            assert_eq!(result.summary().segment(Segment::Lost), 1);
        }
    }

    #[test]
    fn an_empty_table_gives_no_customers() {
        let orders = Orders::new(vec![], vec![], vec![], None).unwrap();
        let result = rfm(&orders, 0, 2);
        assert!(result.customers().is_empty());
        assert_eq!(result.summary(), &RfmSummary::default());
    }
}
