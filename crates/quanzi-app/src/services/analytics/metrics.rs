//! Metric series and period totals. Every number here is computed from stored orders,
//! refunds, events and members when asked; nothing is cached, so a late event changes the
//! next read.

use quanzi_domain::analytics::anomaly::rule::{Granularity, Metric};
use quanzi_domain::analytics::anomaly::{evaluate, AnomalyConfig, Point};
use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::calendar::TimeZone;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::time::Timestamp;
use quanzi_store::BucketTotals;

use crate::principal::Principal;
use crate::services::workspaces::time_zone;
use crate::{App, Result};

/// Most buckets one series read returns (a year of days, a month of hours).
const MAX_BUCKETS: i64 = 24 * 31 + 1;

/// A metric's value in one bucket and the counts behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// NaN when a rate has no denominator.
    pub value: f64,
    pub numerator: f64,
    /// 1 for counts; the rate's denominator otherwise.
    pub denominator: f64,
}

/// A metric of one bucket's totals.
pub fn measure(metric: Metric, t: &BucketTotals) -> Measured {
    let count = |n: i64| Measured {
        value: n as f64,
        numerator: n as f64,
        denominator: 1.0,
    };
    let rate = |num: i64, den: i64| Measured {
        value: if den > 0 {
            num as f64 / den as f64
        } else {
            f64::NAN
        },
        numerator: num as f64,
        denominator: den as f64,
    };
    match metric {
        Metric::Gmv => count(t.gmv_fen),
        Metric::Orders => count(t.orders),
        Metric::NewMembers => count(t.new_members),
        Metric::ActiveMembers => count(t.active_members),
        Metric::ConversionRate => rate(t.buyers, t.active_members),
        Metric::RefundRate => rate(t.refund_fen, t.gmv_fen),
        Metric::ShareRate => rate(t.sharers, t.active_members),
    }
}

/// Bucket width and offset (ms) of a granularity in a zone.
pub(crate) fn bucket_frame(granularity: Granularity, zone: &TimeZone) -> (i64, i64) {
    (
        granularity.seconds() * 1000,
        i64::from(zone.offset_seconds()) * 1000,
    )
}

/// The start of bucket `n`.
pub(crate) fn bucket_start(n: i64, width: i64, offset: i64) -> Timestamp {
    Timestamp::from_millis(n * width - offset)
}

/// The bucket `at` falls in.
pub(crate) fn bucket_of(at: Timestamp, width: i64, offset: i64) -> i64 {
    (at.millis() + offset).div_euclid(width)
}

/// One value per bucket `first..=last`, oldest first. Buckets before the first one with
/// any fact are unknown (NaN), not zero: a shop that opened last week has no history of
/// zero sales to compare against. Rates below `min_denominator` are unknown too.
pub(crate) fn dense_values(
    totals: &[BucketTotals],
    first: i64,
    last: i64,
    metric: Metric,
    min_denominator: f64,
) -> Vec<Measured> {
    let mut by_bucket = totals.iter().peekable();
    let opened = totals.first().map_or(i64::MAX, |t| t.bucket);
    (first..=last)
        .map(|n| {
            while by_bucket.peek().is_some_and(|t| t.bucket < n) {
                by_bucket.next();
            }
            let here = by_bucket
                .peek()
                .filter(|t| t.bucket == n)
                .copied()
                .copied()
                .unwrap_or(BucketTotals {
                    bucket: n,
                    ..BucketTotals::default()
                });
            let mut m = measure(metric, &here);
            if n < opened || (metric.is_rate() && m.denominator < min_denominator) {
                m.value = f64::NAN;
            }
            m
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct SeriesPoint {
    pub start: Timestamp,
    pub measured: Measured,
    pub judged: Point,
}

/// A metric per bucket over `[from, to)`, each bucket judged against the same weekday
/// (or hour of the week) in the weeks before it.
#[derive(Debug, Clone)]
pub struct Series {
    pub metric: Metric,
    pub granularity: Granularity,
    pub time_zone: String,
    pub config: AnomalyConfig,
    pub points: Vec<SeriesPoint>,
}

pub async fn series(
    app: &App,
    principal: &Principal,
    metric: Metric,
    granularity: Granularity,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    config: AnomalyConfig,
) -> Result<Series> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    let zone = time_zone(app, &principal.workspace_id).await?;
    let (width, offset) = bucket_frame(granularity, &zone);
    let now = app.clock.now();
    let last = bucket_of(to.unwrap_or(now), width, offset) - i64::from(to.is_some());
    let default_span = match granularity {
        Granularity::Day => 28,
        Granularity::Hour => 48,
    };
    let first = from.map_or(last - default_span + 1, |f| bucket_of(f, width, offset));
    if first > last {
        return Err(InvalidInput::new("from", "must be before to").into());
    }
    if last - first + 1 > MAX_BUCKETS {
        return Err(InvalidInput::new(
            "from",
            format!("at most {MAX_BUCKETS} buckets per read; narrow the range or use days"),
        )
        .into());
    }
    // Read the history the first bucket's baseline needs as well.
    let history = (config.season.max(1) * config.lookback) as i64;
    let read_from = first - history;
    let totals = app
        .store
        .bucket_totals(
            &principal.workspace_id,
            bucket_start(read_from, width, offset),
            bucket_start(last + 1, width, offset),
            width,
            offset,
        )
        .await?;
    let measured = dense_values(&totals, read_from, last, metric, 0.0);
    let values: Vec<f64> = measured.iter().map(|m| m.value).collect();
    let judged = evaluate(&values, &config);
    let skip = history as usize;
    Ok(Series {
        metric,
        granularity,
        time_zone: zone.name().to_owned(),
        config,
        points: (first..=last)
            .zip(measured.into_iter().zip(judged).skip(skip))
            .map(|(n, (measured, judged))| SeriesPoint {
                start: bucket_start(n, width, offset),
                measured,
                judged,
            })
            .collect(),
    })
}

/// Totals of a period, with distinct members counted once over the whole period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PeriodTotals {
    pub from: Timestamp,
    pub to: Timestamp,
    pub totals: BucketTotals,
}

impl PeriodTotals {
    pub fn value(&self, metric: Metric) -> f64 {
        measure(metric, &self.totals).value
    }

    /// GMV per active member (UV value), fen.
    pub fn uv_value_fen(&self) -> f64 {
        if self.totals.active_members == 0 {
            return f64::NAN;
        }
        self.totals.gmv_fen as f64 / self.totals.active_members as f64
    }
}

async fn period(
    app: &App,
    principal: &Principal,
    from: Timestamp,
    to: Timestamp,
) -> Result<PeriodTotals> {
    let width = to.millis() - from.millis();
    // Offset the buckets so that `from` starts one: the whole period is one bucket.
    let offset = (width - from.millis().rem_euclid(width)) % width;
    let totals = app
        .store
        .bucket_totals(&principal.workspace_id, from, to, width, offset)
        .await?;
    Ok(PeriodTotals {
        from,
        to,
        totals: totals.into_iter().next().unwrap_or_default(),
    })
}

/// The period `[from, to)` and the one of equal length before it.
pub async fn overview(
    app: &App,
    principal: &Principal,
    from: Timestamp,
    to: Timestamp,
) -> Result<(PeriodTotals, PeriodTotals)> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    if to <= from {
        return Err(InvalidInput::new("to", "must be after from").into());
    }
    let span = to.millis() - from.millis();
    if span > 400 * 86_400_000 {
        return Err(InvalidInput::new("from", "the period may be at most 400 days").into());
    }
    let current = period(app, principal, from, to).await?;
    let previous = period(
        app,
        principal,
        Timestamp::from_millis(from.millis() - span),
        from,
    )
    .await?;
    Ok((current, previous))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(bucket: i64, orders: i64, gmv: i64, refund: i64) -> BucketTotals {
        BucketTotals {
            bucket,
            orders,
            gmv_fen: gmv,
            refund_fen: refund,
            ..BucketTotals::default()
        }
    }

    #[test]
    fn buckets_before_the_first_fact_are_unknown_and_gaps_after_it_are_zero() {
        let t = [totals(12, 3, 300, 0), totals(14, 1, 100, 0)];
        let v = dense_values(&t, 10, 15, Metric::Orders, 0.0);
        let shown: Vec<String> = v.iter().map(|m| format!("{}", m.value)).collect();
        assert_eq!(shown, ["NaN", "NaN", "3", "0", "1", "0"]);
    }

    #[test]
    fn a_rate_below_its_minimum_denominator_is_not_judged() {
        let t = [totals(1, 2, 200, 100), totals(2, 50, 50_000, 1_000)];
        let v = dense_values(&t, 1, 2, Metric::RefundRate, 10_000.0);
        assert!(v[0].value.is_nan());
        assert_eq!(v[1].value, 0.02);
        assert_eq!(v[1].denominator, 50_000.0);
    }

    #[test]
    fn day_buckets_follow_the_local_calendar() {
        let zone = TimeZone::shanghai();
        let (width, offset) = bucket_frame(Granularity::Day, &zone);
        // 2026-12-02T16:00Z is midnight of 12-03 in Shanghai.
        let midnight = Timestamp::parse_rfc3339("2026-12-02T16:00:00Z").unwrap();
        let n = bucket_of(midnight, width, offset);
        assert_eq!(bucket_start(n, width, offset), midnight);
        assert_eq!(
            bucket_of(
                midnight.minus(std::time::Duration::from_millis(1)),
                width,
                offset
            ),
            n - 1
        );
    }
}
