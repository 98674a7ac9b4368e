//! A deterministic journey generator for benchmarks and tests.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::journeys::{Builder, Journeys};

/// `n` single-customer journeys over `channels` channels (`ch0`, `ch1`, …), aggregated into
/// a path table. The same arguments give the same table (for a given `rand` version).
///
/// Shape, chosen to resemble real click streams: channel popularity falls off as
/// `1 / (rank + 1)`; paths are 1 to 12 touches long with a geometric tail (mean about 2.8);
/// each channel has its own lift on the odds of converting (base odds about 3 %, each touch
/// multiplying them by 1.05–1.6); converting journeys carry a value of 50–150.
///
/// # Panics
/// If `channels` is 0 or more than [`Journeys::MAX_CHANNELS`].
pub fn synthetic_journeys(n: usize, channels: usize, seed: u64) -> Journeys {
    assert!(
        (1..=Journeys::MAX_CHANNELS).contains(&channels),
        "synthetic journeys need 1 to {} channels",
        Journeys::MAX_CHANNELS
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let mut builder = Builder::new();
    for channel in 0..channels {
        builder
            .channel_id(&format!("ch{channel}"))
            .expect("at most MAX_CHANNELS channels");
    }
    // Cumulative popularity for inverse-CDF sampling, and per-channel odds multipliers.
    let mut cumulative = Vec::with_capacity(channels);
    let mut total = 0.0;
    for rank in 0..channels {
        total += 1.0 / (rank as f64 + 1.0);
        cumulative.push(total);
    }
    let lifts: Vec<f64> = (0..channels).map(|_| rng.gen_range(1.05..1.6)).collect();

    let mut path: Vec<u16> = Vec::with_capacity(12);
    for _ in 0..n {
        path.clear();
        let mut odds = 0.03;
        loop {
            let u = rng.gen::<f64>() * total;
            let channel = cumulative.partition_point(|&c| c < u).min(channels - 1);
            path.push(channel as u16);
            odds *= lifts[channel];
            if path.len() == 12 || rng.gen::<f64>() < 0.35 {
                break;
            }
        }
        let converted = rng.gen::<f64>() < odds / (1.0 + odds);
        let (conversions, value, nulls) = if converted {
            (1.0, rng.gen_range(50.0..150.0), 0.0)
        } else {
            (0.0, 0.0, 1.0)
        };
        builder
            .push_ids(&path, conversions, value, nulls)
            .expect("synthetic paths are short");
    }
    builder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_table() {
        assert_eq!(
            synthetic_journeys(1_000, 5, 42),
            synthetic_journeys(1_000, 5, 42)
        );
        assert_ne!(
            synthetic_journeys(1_000, 5, 42),
            synthetic_journeys(1_000, 5, 43)
        );
    }

    #[test]
    fn every_journey_is_counted_once_as_a_conversion_or_a_null() {
        let journeys = synthetic_journeys(5_000, 8, 1);
        assert_eq!(
            journeys.total_conversions() + journeys.total_nulls(),
            5_000.0
        );
        assert_eq!(journeys.channels().len(), 8);
        assert!(journeys.len() < 5_000, "identical paths are merged");
        assert!(journeys.total_conversions() > 0.0);
    }
}
