//! A deterministic event log for benchmarks: members browsing in sessions over 90 days,
//! some of them going down a five-step purchase funnel, in time order as a tracking
//! pipeline would export it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::events::EventColumns;

/// Event types; the purchase funnel is `view_item → add_to_cart → begin_checkout →
/// add_payment_info → purchase`.
pub const SYNTHETIC_EVENT_NAMES: [&str; 10] = [
    "page_view",
    "search",
    "view_item",
    "add_to_cart",
    "begin_checkout",
    "add_payment_info",
    "purchase",
    "share",
    "coupon_claim",
    "refund",
];

/// Channels sessions come from, most popular first.
pub const SYNTHETIC_CHANNEL_NAMES: [&str; 8] = [
    "wechat",
    "douyin",
    "xiaohongshu",
    "kol_lixiaoyu",
    "kol_wangfan",
    "search_ads",
    "direct",
    "sms",
];

/// The log starts at 2026-09-01 00:00:00 UTC and spans 90 days.
pub const SYNTHETIC_START: i64 = 1_788_220_800;
pub const SYNTHETIC_DAYS: i64 = 90;

/// A generated log, sorted by time: member codes (`m{code}` as ids), seconds since the
/// epoch, event and channel codes into the name lists above.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntheticEvents {
    pub members: u32,
    pub member: Vec<u32>,
    pub ts: Vec<i64>,
    pub event: Vec<u8>,
    pub channel: Vec<u8>,
}

impl SyntheticEvents {
    /// The log as funnel input (event codes index [`SYNTHETIC_EVENT_NAMES`], breakdown
    /// codes [`SYNTHETIC_CHANNEL_NAMES`]).
    pub fn to_columns(&self) -> EventColumns {
        EventColumns::new(
            self.member.clone(),
            self.ts.clone(),
            self.event.iter().map(|&e| u32::from(e)).collect(),
            Some(self.channel.iter().map(|&c| u32::from(c)).collect()),
        )
        .expect("generated columns have one length")
    }
}

/// Exactly `events` events from about `events / 10` members. The same arguments give the
/// same log (for a given `rand` version).
///
/// Shape: each member has 1 + a geometric number of sessions (mean 3), 5 days apart on
/// average, from one channel each (popularity falling as `1 / (rank + 1)`); a session has
/// page views and searches, and 70 % of sessions view an item. From there each funnel step
/// follows the previous one with probability 45 %, 60 %, 75 % and 80 %, a few minutes later
/// or, one time in five, days later (so the 7-day window matters); buyers sometimes share
/// or refund. Events after the 90 days are not logged.
pub fn synthetic_events(events: usize, seed: u64) -> SyntheticEvents {
    let mut rng = StdRng::seed_from_u64(seed);
    let end = SYNTHETIC_DAYS * 86_400;
    let mut cumulative = Vec::with_capacity(SYNTHETIC_CHANNEL_NAMES.len());
    let mut total = 0.0;
    for rank in 0..SYNTHETIC_CHANNEL_NAMES.len() {
        total += 1.0 / (rank as f64 + 1.0);
        cumulative.push(total);
    }
    let exp = |rng: &mut StdRng, mean: f64| -mean * (1.0 - rng.gen::<f64>()).ln();

    // (time since start, member, event, channel), in generation order.
    let mut rows: Vec<(i64, u32, u8, u8)> = Vec::with_capacity(events + 64);
    let mut member = 0u32;
    while rows.len() < events {
        let mut at = rng.gen_range(0..end) as f64;
        loop {
            let pick = rng.gen::<f64>() * total;
            let channel = cumulative.partition_point(|&c| c < pick) as u8;
            let push = |rows: &mut Vec<(i64, u32, u8, u8)>, t: f64, event: u8| {
                if (t as i64) < end {
                    rows.push((t as i64, member, event, channel));
                }
            };
            let mut t = at;
            for _ in 0..rng.gen_range(1..=3) {
                push(&mut rows, t, 0);
                t += exp(&mut rng, 40.0);
            }
            if rng.gen_bool(0.3) {
                push(&mut rows, t, 1);
                t += exp(&mut rng, 30.0);
            }
            if rng.gen_bool(0.1) {
                push(&mut rows, t, 8);
                t += exp(&mut rng, 20.0);
            }
            if rng.gen_bool(0.7) {
                push(&mut rows, t, 2);
                for (step, chance) in [(3u8, 0.45), (4, 0.6), (5, 0.75), (6, 0.8)] {
                    if !rng.gen_bool(chance) {
                        break;
                    }
                    t += if rng.gen_bool(0.2) {
                        exp(&mut rng, 3.0 * 86_400.0)
                    } else {
                        exp(&mut rng, 180.0)
                    };
                    push(&mut rows, t, step);
                    if step == 3 && rng.gen_bool(0.3) {
                        push(&mut rows, t + exp(&mut rng, 20.0), 0);
                    }
                }
                if rows.last().is_some_and(|r| r.1 == member && r.2 == 6) {
                    if rng.gen_bool(0.15) {
                        push(&mut rows, t + exp(&mut rng, 600.0), 7);
                    }
                    if rng.gen_bool(0.05) {
                        push(&mut rows, t + exp(&mut rng, 4.0 * 86_400.0), 9);
                    }
                }
            }
            if rng.gen_bool(1.0 / 3.0) {
                break;
            }
            at += exp(&mut rng, 5.0 * 86_400.0);
            if at >= end as f64 {
                break;
            }
        }
        member += 1;
    }
    rows.truncate(events);
    // Sort by time, keeping generation order within a second (the sort key is unique).
    let mut order: Vec<u64> = rows
        .iter()
        .enumerate()
        .map(|(i, row)| (row.0 as u64) << 40 | i as u64)
        .collect();
    order.sort_unstable();
    let mut out = SyntheticEvents {
        members: 0,
        member: Vec::with_capacity(events),
        ts: Vec::with_capacity(events),
        event: Vec::with_capacity(events),
        channel: Vec::with_capacity(events),
    };
    for key in order {
        let (t, m, e, c) = rows[(key & ((1 << 40) - 1)) as usize];
        out.member.push(m);
        out.ts.push(SYNTHETIC_START + t);
        out.event.push(e);
        out.channel.push(c);
    }
    out.members = out.member.iter().max().map_or(0, |&m| m + 1);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_is_deterministic_sorted_and_about_ten_events_a_member() {
        let log = synthetic_events(20_000, 7);
        assert_eq!(log, synthetic_events(20_000, 7));
        assert_eq!(log.ts.len(), 20_000);
        assert!(log.ts.windows(2).all(|w| w[0] <= w[1]));
        let per_member = 20_000.0 / f64::from(log.members);
        assert!((6.0..14.0).contains(&per_member), "{per_member}");
        assert!(log.ts[0] >= SYNTHETIC_START);
        assert!(*log.ts.last().unwrap() < SYNTHETIC_START + SYNTHETIC_DAYS * 86_400);
        let purchases = log.event.iter().filter(|&&e| e == 6).count();
        let views = log.event.iter().filter(|&&e| e == 2).count();
        assert!(
            purchases * 20 > views && purchases * 4 < views,
            "{purchases} {views}"
        );
    }
}
