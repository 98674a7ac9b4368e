//! Lifetime value on stored data. Each member with a paid order becomes a BG/NBD summary
//! in days — repeat purchases are the distinct later days with an order, recency the days
//! from the first to the last such day, age the days from the first order to `as_of` — and
//! Gamma-Gamma reads the mean net value of their repeat orders. The fit, P(alive), the
//! expected purchases and the discounted value over the horizon follow.

use std::collections::BTreeMap;

use quanzi_domain::analytics::clv::bgnbd::{BgNbd, BgNbdFit};
use quanzi_domain::analytics::clv::gamma_gamma::{GammaGamma, GammaGammaFit, Spend};
use quanzi_domain::analytics::clv::value::lifetime_value;
use quanzi_domain::analytics::clv::Summary;
use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::time::Timestamp;

use crate::principal::Principal;
use crate::{App, Error, Result};

const DAY_MS: f64 = 86_400_000.0;

#[derive(Debug, Clone, Copy)]
pub struct ClvQuery {
    pub as_of: Timestamp,
    /// Periods of `period_days` in the horizon (default 12 × 30 days).
    pub periods: u32,
    pub period_days: f64,
    /// Discount rate per period.
    pub discount_rate: f64,
}

/// One member's scores.
#[derive(Debug, Clone)]
pub struct MemberValue {
    pub member_id: String,
    pub summary: Summary,
    pub p_alive: f64,
    pub expected_purchases: f64,
    /// Fen, discounted; `None` when Gamma-Gamma could not be fitted.
    pub clv_fen: Option<f64>,
}

pub struct ClvReport {
    pub query: ClvQuery,
    pub purchases: BgNbdFit,
    pub spend: Option<GammaGammaFit>,
    /// Why Gamma-Gamma is missing, when it is.
    pub spend_note: Option<String>,
    /// Members, highest CLV (or expected purchases) first.
    pub members: Vec<MemberValue>,
}

/// Per member: (distinct order days as day numbers since `as_of`'s epoch, net fen of each
/// repeat order).
fn summarise(
    orders: Vec<(String, i64, i64, Option<String>)>,
    as_of: Timestamp,
) -> BTreeMap<String, (Summary, Option<f64>)> {
    let mut by_member: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for (member, at, net, _) in orders {
        by_member.entry(member).or_default().push((at, net));
    }
    by_member
        .into_iter()
        .map(|(member, mut orders)| {
            orders.sort_unstable();
            let first = orders[0].0;
            let day = |at: i64| ((at - first) as f64 / DAY_MS).floor();
            let mut days: Vec<f64> = orders.iter().map(|(at, _)| day(*at)).collect();
            days.dedup();
            let repeats: Vec<i64> = orders
                .iter()
                .filter(|(at, _)| day(*at) > 0.0)
                .map(|(_, net)| *net)
                .collect();
            let summary = Summary {
                frequency: (days.len() - 1) as f64,
                recency: *days.last().expect("a member here has an order"),
                age: ((as_of.millis() - first) as f64 / DAY_MS)
                    .max(days[days.len() - 1])
                    .max(1.0),
            };
            let mean = (!repeats.is_empty())
                .then(|| repeats.iter().sum::<i64>() as f64 / repeats.len() as f64);
            (member, (summary, mean))
        })
        .collect()
}

pub async fn report(app: &App, principal: &Principal, query: ClvQuery) -> Result<ClvReport> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    if !(1..=60).contains(&query.periods) {
        return Err(InvalidInput::new("periods", "must be 1 to 60").into());
    }
    if !(query.period_days.is_finite() && query.period_days > 0.0 && query.period_days <= 366.0) {
        return Err(InvalidInput::new("period_days", "must be above 0 and at most 366").into());
    }
    if !(query.discount_rate.is_finite() && (0.0..1.0).contains(&query.discount_rate)) {
        return Err(InvalidInput::new("discount_rate", "must be at least 0 and below 1").into());
    }
    let orders = app
        .store
        .conversions(
            &principal.workspace_id,
            "channel",
            Timestamp::from_millis(0),
            query.as_of,
        )
        .await?;
    tokio::task::spawn_blocking(move || compute(orders, query))
        .await
        .map_err(|e| Error::Internal(e.into()))?
}

fn compute(orders: Vec<(String, i64, i64, Option<String>)>, query: ClvQuery) -> Result<ClvReport> {
    let summaries = summarise(orders, query.as_of);
    if summaries.len() < 10 {
        return Err(InvalidInput::new(
            "as_of",
            "lifetime value needs at least 10 members with orders before this time",
        )
        .into());
    }
    let rows: Vec<Summary> = summaries.values().map(|(s, _)| *s).collect();
    let purchases = BgNbd::fit(&rows).map_err(|e| e.for_field("orders"))?;
    let spend_rows: Vec<Spend> = summaries
        .values()
        .filter_map(|(s, mean)| {
            mean.filter(|m| *m > 0.0).map(|m| Spend {
                frequency: s.frequency,
                mean_value: m,
            })
        })
        .collect();
    let (spend, spend_note) = match GammaGamma::fit(&spend_rows) {
        Ok(fit) => (Some(fit), None),
        Err(e) => (None, Some(format!("gamma-gamma: {}", e.message()))),
    };
    let horizon = f64::from(query.periods) * query.period_days;
    let mut members: Vec<MemberValue> = summaries
        .into_iter()
        .map(|(member_id, (summary, mean))| MemberValue {
            p_alive: purchases.params.p_alive(&summary),
            expected_purchases: purchases.params.expected_purchases(&summary, horizon),
            clv_fen: spend.as_ref().map(|gg| {
                lifetime_value(
                    &purchases.params,
                    &gg.params,
                    &summary,
                    mean.unwrap_or(0.0),
                    query.periods,
                    query.period_days,
                    query.discount_rate,
                )
            }),
            member_id,
            summary,
        })
        .collect();
    members.sort_by(|a, b| {
        let key = |m: &MemberValue| m.clv_fen.unwrap_or(m.expected_purchases);
        key(b)
            .total_cmp(&key(a))
            .then_with(|| a.member_id.cmp(&b.member_id))
    });
    Ok(ClvReport {
        query,
        purchases,
        spend,
        spend_note,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_count_repeat_days_in_days_from_the_first_order() {
        let day = 86_400_000;
        let orders = vec![
            ("a".to_string(), 0, 100, None),
            ("a".to_string(), day / 2, 50, None), // same day: not a repeat
            ("a".to_string(), 3 * day, 300, None),
            ("a".to_string(), 10 * day + 5, 500, None),
            ("b".to_string(), 5 * day, 80, None),
        ];
        let s = summarise(orders, Timestamp::from_millis(20 * day));
        let (a, mean) = s["a"];
        assert_eq!((a.frequency, a.recency, a.age), (2.0, 10.0, 20.0));
        assert_eq!(mean, Some(400.0));
        let (b, mean) = s["b"];
        assert_eq!((b.frequency, b.recency, b.age), (0.0, 0.0, 15.0));
        assert_eq!(mean, None);
    }
}
