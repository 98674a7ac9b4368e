//! Baselines: what a point "should" be, given the same season in earlier cycles, and how
//! far off it may drift before it is an anomaly.

/// How the expected value and its spread are estimated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Median of the same season over the last `lookback` cycles; spread from the median
    /// absolute deviation (×1.4826, the normal-consistent scale). Unmoved by a single
    /// earlier spike, so one incident does not hide the next.
    RobustZ,
    /// Exponentially weighted mean and variance of the same season, newest cycles
    /// weighing most (`alpha` per cycle). Follows a trend faster than the median.
    Ewma,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::RobustZ => "robust_z",
            Method::Ewma => "ewma",
        }
    }

    pub fn parse(raw: &str) -> Option<Method> {
        match raw {
            "robust_z" => Some(Method::RobustZ),
            "ewma" => Some(Method::Ewma),
            _ => None,
        }
    }
}

/// Which side of the baseline counts as an anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Both,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
            Direction::Both => "both",
        }
    }

    pub fn parse(raw: &str) -> Option<Direction> {
        match raw {
            "up" => Some(Direction::Up),
            "down" => Some(Direction::Down),
            "both" => Some(Direction::Both),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyConfig {
    pub method: Method,
    /// Buckets per cycle: 7 for days (weekday seasonality), 168 for hours, 1 for none.
    pub season: usize,
    /// Earlier cycles the baseline reads.
    pub lookback: usize,
    /// Earlier same-season points needed before a point is judged at all.
    pub min_history: usize,
    /// |score| at or above which a point is anomalous.
    pub threshold: f64,
    pub direction: Direction,
    /// Weight of the newest cycle in the EWMA.
    pub alpha: f64,
    /// The spread is never taken below this share of the expected value: a metric that
    /// was perfectly flat (MAD 0) would otherwise flag a change of one yuan.
    pub min_relative_spread: f64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            method: Method::RobustZ,
            season: 7,
            lookback: 8,
            min_history: 3,
            threshold: 3.5,
            direction: Direction::Both,
            alpha: 0.3,
            min_relative_spread: 0.05,
        }
    }
}

/// One point judged against its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub value: f64,
    /// None until `min_history` earlier same-season points exist.
    pub expected: Option<f64>,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// (value − expected) / spread.
    pub score: Option<f64>,
    pub anomalous: bool,
}

/// Scores every point of `values` (oldest first, one per bucket, no gaps) against the
/// same season in the cycles before it; a point never sees itself or anything later.
pub fn evaluate(values: &[f64], config: &AnomalyConfig) -> Vec<Point> {
    let season = config.season.max(1);
    (0..values.len())
        .map(|i| {
            let history: Vec<f64> = (1..=config.lookback)
                .map_while(|k| i.checked_sub(k * season))
                .map(|j| values[j])
                .filter(|v| v.is_finite())
                .collect();
            judge(values[i], &history, config)
        })
        .collect()
}

/// `history` is newest first.
fn judge(value: f64, history: &[f64], config: &AnomalyConfig) -> Point {
    let unjudged = Point {
        value,
        expected: None,
        lower: None,
        upper: None,
        score: None,
        anomalous: false,
    };
    if history.len() < config.min_history.max(1) || !value.is_finite() {
        return unjudged;
    }
    let (expected, spread) = match config.method {
        Method::RobustZ => robust(history),
        Method::Ewma => ewma(history, config.alpha),
    };
    // A floor on the spread, relative to the level, plus a tiny absolute floor for a
    // series of zeros.
    let spread = spread
        .max(config.min_relative_spread * expected.abs())
        .max(1e-9);
    let score = (value - expected) / spread;
    let anomalous = match config.direction {
        Direction::Up => score >= config.threshold,
        Direction::Down => score <= -config.threshold,
        Direction::Both => score.abs() >= config.threshold,
    };
    Point {
        value,
        expected: Some(expected),
        lower: Some(expected - config.threshold * spread),
        upper: Some(expected + config.threshold * spread),
        score: Some(score),
        anomalous,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Median and 1.4826 × MAD.
fn robust(history: &[f64]) -> (f64, f64) {
    let mut sorted = history.to_vec();
    let center = median(&mut sorted);
    let mut deviations: Vec<f64> = history.iter().map(|v| (v - center).abs()).collect();
    (center, 1.4826 * median(&mut deviations))
}

/// EWMA mean and standard deviation, oldest cycle first so the newest weighs `alpha`.
fn ewma(history: &[f64], alpha: f64) -> (f64, f64) {
    let mut oldest_first = history.iter().rev();
    let mut mean = *oldest_first.next().expect("history is not empty");
    let mut variance = 0.0;
    for &v in oldest_first {
        let delta = v - mean;
        mean += alpha * delta;
        // West's incremental EW variance: stays non-negative, needs no second pass.
        variance = (1.0 - alpha) * (variance + alpha * delta * delta);
    }
    (mean, variance.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn weekly(weeks: usize, weekday: [f64; 7]) -> Vec<f64> {
        (0..weeks * 7).map(|i| weekday[i % 7]).collect()
    }

    #[test]
    fn a_weekend_dip_that_happens_every_week_is_not_an_anomaly() {
        let values = weekly(6, [100.0, 102.0, 98.0, 101.0, 99.0, 40.0, 42.0]);
        let points = evaluate(&values, &AnomalyConfig::default());
        assert!(points.iter().all(|p| !p.anomalous));
        // Judged from the fourth week on (min_history 3).
        assert!(points[..21].iter().all(|p| p.expected.is_none()));
        assert_eq!(points[21].expected, Some(100.0));
        assert_eq!(points[26].expected, Some(40.0));
    }

    #[test]
    fn a_refund_spike_on_an_ordinary_tuesday_fires_upwards_only() {
        let mut values: Vec<f64> = (0..35).map(|i| 0.02 + 0.001 * (i % 3) as f64).collect();
        values[29] = 0.09;
        let mut config = AnomalyConfig {
            direction: Direction::Up,
            ..AnomalyConfig::default()
        };
        let points = evaluate(&values, &config);
        let fired: Vec<usize> = (0..points.len()).filter(|&i| points[i].anomalous).collect();
        assert_eq!(fired, vec![29]);
        assert!(points[29].score.unwrap() > 3.5);
        config.direction = Direction::Down;
        assert!(evaluate(&values, &config).iter().all(|p| !p.anomalous));
    }

    #[test]
    fn robust_baseline_is_the_median_and_scaled_mad_of_the_same_weekday() {
        // Earlier Mondays 10, 12, 11, 30 (one spike): median 11.5, MAD median(|…|) =
        // median(1.5, 0.5, 0.5, 18.5) = 1.0, spread 1.4826.
        let mut values = vec![0.0; 35];
        for (week, v) in [10.0, 12.0, 11.0, 30.0, 20.0].iter().enumerate() {
            values[week * 7] = *v;
        }
        let config = AnomalyConfig {
            min_relative_spread: 0.0,
            ..AnomalyConfig::default()
        };
        let p = evaluate(&values, &config)[28];
        assert_eq!(p.expected, Some(11.5));
        let score = p.score.unwrap();
        assert!((score - (20.0 - 11.5) / 1.4826).abs() < 1e-12, "{score}");
        assert!(p.anomalous);
        assert!((p.upper.unwrap() - (11.5 + 3.5 * 1.4826)).abs() < 1e-12);
    }

    #[test]
    fn ewma_weighs_the_newest_cycle_by_alpha() {
        // No seasonality: history 10 then 20 (newest) → mean 10 + 0.5·10 = 15,
        // variance (1−0.5)(0 + 0.5·100) = 25.
        let config = AnomalyConfig {
            method: Method::Ewma,
            season: 1,
            min_history: 2,
            alpha: 0.5,
            min_relative_spread: 0.0,
            ..AnomalyConfig::default()
        };
        let p = evaluate(&[10.0, 20.0, 40.0], &config)[2];
        assert_eq!(p.expected, Some(15.0));
        assert_eq!(p.score, Some(5.0));
        assert!(p.anomalous);
    }

    #[test]
    fn a_flat_series_does_not_flag_a_tiny_change() {
        let mut values = vec![1000.0; 28];
        values.push(1010.0);
        let points = evaluate(&values, &AnomalyConfig::default());
        assert!(!points[28].anomalous);
        values[28] = 2000.0;
        assert!(evaluate(&values, &AnomalyConfig::default())[28].anomalous);
    }

    proptest! {
        #[test]
        fn a_point_is_judged_only_by_earlier_points(
            values in prop::collection::vec(0.0f64..1000.0, 1..60),
            tail in prop::collection::vec(0.0f64..1e6, 0..10),
            ewma in any::<bool>(),
        ) {
            let config = AnomalyConfig {
                method: if ewma { Method::Ewma } else { Method::RobustZ },
                ..AnomalyConfig::default()
            };
            let mut longer = values.clone();
            longer.extend(tail);
            let short = evaluate(&values, &config);
            let long = evaluate(&longer, &config);
            prop_assert_eq!(&short[..], &long[..values.len()]);
            for p in &short {
                if let (Some(lo), Some(e), Some(hi)) = (p.lower, p.expected, p.upper) {
                    prop_assert!(lo <= e && e <= hi);
                    // Direction both: outside the band (or on its edge) is anomalous.
                    prop_assert!(p.value <= hi + 1e-9 * hi.abs() || p.anomalous);
                }
            }
        }
    }
}
