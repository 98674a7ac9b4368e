//! Preparing customers for the BG/NBD likelihood: merging equal summaries into weighted
//! rows and pointing each row at its frequency's entry in the per-frequency table.
//!
//! Merging sorts (by the bits of the numbers, which order non-negative floats like the
//! numbers themselves) and counts runs; it costs a sort of the customers with repeats,
//! which pays off when many share a summary (whole days or weeks) and is wasted when none
//! do (continuous times).

use super::bgnbd_rows::{Repeat, Single};
use super::Summary;

/// Customers without repeats with equal ages, merged.
pub(super) fn collapse_singles(mut ages: Vec<f64>) -> Vec<Single> {
    ages.sort_unstable_by_key(|age| age.to_bits());
    let mut merged: Vec<Single> = Vec::with_capacity(ages.len() / 4);
    for age in ages {
        match merged.last_mut() {
            Some(last) if last.age.to_bits() == age.to_bits() => last.weight += 1.0,
            _ => merged.push(Single { age, weight: 1.0 }),
        }
    }
    merged
}

/// Customers with repeats with equal (x, t_x, T), merged.
pub(super) fn collapse_repeats(mut rows: Vec<Summary>) -> Vec<(Summary, f64)> {
    let key = |s: &Summary| [s.frequency.to_bits(), s.recency.to_bits(), s.age.to_bits()];
    rows.sort_unstable_by_key(key);
    let mut merged: Vec<(Summary, f64)> = Vec::with_capacity(rows.len() / 4);
    for s in rows {
        match merged.last_mut() {
            Some((last, n)) if key(last) == key(&s) => *n += 1.0,
            _ => merged.push((s, 1.0)),
        }
    }
    merged
}

/// The distinct frequencies with their total weights, and the rows pointing into them.
/// Frequencies are whole numbers, almost always small enough to index a table directly;
/// a binary search over the distinct ones covers the rest.
pub(super) fn index_frequencies(weighted: &[(Summary, f64)]) -> (Vec<(f64, f64)>, Vec<Repeat>) {
    const TABLE_LIMIT: f64 = 1e6;
    let largest = weighted
        .iter()
        .map(|(s, _)| s.frequency)
        .fold(0.0, f64::max);
    let mut distinct: Vec<f64> = if largest <= TABLE_LIMIT {
        let mut seen = vec![false; largest as usize + 1];
        for (s, _) in weighted {
            seen[s.frequency as usize] = true;
        }
        (0..seen.len())
            .filter(|&x| seen[x])
            .map(|x| x as f64)
            .collect()
    } else {
        weighted.iter().map(|(s, _)| s.frequency).collect()
    };
    distinct.sort_unstable_by(f64::total_cmp);
    distinct.dedup();
    let table: Vec<u32> = if largest <= TABLE_LIMIT {
        let mut table = vec![0; largest as usize + 1];
        for (k, &x) in distinct.iter().enumerate() {
            table[x as usize] = k as u32;
        }
        table
    } else {
        Vec::new()
    };
    let mut frequencies: Vec<(f64, f64)> = distinct.iter().map(|&x| (x, 0.0)).collect();
    let repeats = weighted
        .iter()
        .map(|&(s, weight)| {
            let k = if largest <= TABLE_LIMIT {
                table[s.frequency as usize] as usize
            } else {
                distinct
                    .binary_search_by(|x| x.total_cmp(&s.frequency))
                    .unwrap_or_default()
            };
            frequencies[k].1 += weight;
            Repeat {
                frequency: k as u32,
                recency: s.recency,
                age: s.age,
                weight,
            }
        })
        .collect();
    (frequencies, repeats)
}
