//! Two-level distribution (分销) commissions: the promoter who brought the buyer (level 1)
//! and the person who invited that promoter (level 2) each earn a share of what the buyer
//! paid, and give back the share of whatever is refunded.
//!
//! Two levels is a legal ceiling, not a default: commission chains deeper than that count as
//! pyramid selling (传销) in China, so [`RateTable::check`] refuses a level 3.
//!
//! Every rate is in basis points of the amount paid for a line after all discounts, and a
//! line's commission is `floor(paid × rate / 10000)`: rounded down, so the brand never pays
//! more than the rate it stated. SKU overrides are basis points too, not fixed fen per unit:
//! refunds are amounts, not always whole units, and a percentage follows them exactly,
//! while a fixed amount per unit could exceed what a heavily discounted buyer paid.
//!
//! Refunds are settled on the running total, never refund by refund: after any sequence of
//! partial refunds the commission kept on a line is `floor((paid − refunded) × rate /
//! 10000)`, and each refund claws back the difference between what was kept before and
//! after it. The clawbacks therefore add up exactly to the original commission minus the
//! kept one, with no rounding drift however a refund is split.
//!
//! Which levels are paid for an order (whether a promoter and an inviter exist, whether a
//! promoter may earn on their own purchase) is the caller's policy; this module only does
//! the arithmetic for the levels it is given.

use std::collections::{BTreeMap, BTreeSet};

use crate::input::InvalidInput;

/// Direct promoter and their inviter; never more (see the module docs).
pub const MAX_LEVELS: u8 = 2;
/// 100%, in basis points.
pub const FULL_RATE_BP: i64 = 10_000;

/// What the buyer paid for one order line, after line and order discounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaidLine {
    pub line: i64,
    pub sku: String,
    pub paid_fen: i64,
}

/// One level's rates: a default and optional per-SKU overrides, all in basis points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelRates {
    /// 1 for the direct promoter, 2 for the promoter's inviter.
    pub level: u8,
    pub default_bp: i64,
    pub sku_bp: BTreeMap<String, i64>,
}

/// A brand's commission rates; call [`RateTable::check`] before using it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateTable {
    pub levels: Vec<LevelRates>,
}

impl RateTable {
    /// Refuses a level outside `1..=MAX_LEVELS`, a level 2 without a level 1, rates outside
    /// 0–100%, and levels whose rates for any SKU add up to more than 100% of the price.
    pub fn check(&self) -> Result<(), InvalidInput> {
        if self.levels.is_empty() {
            return Err(InvalidInput::new("levels", "must have level 1"));
        }
        let mut seen = BTreeSet::new();
        for (i, level) in self.levels.iter().enumerate() {
            let field = |name: &str| format!("levels[{i}].{name}");
            if level.level > MAX_LEVELS {
                return Err(InvalidInput::new(
                    field("level"),
                    format!(
                        "must be at most {MAX_LEVELS}: deeper commission chains are pyramid \
                         selling (传销), unlawful in China"
                    ),
                ));
            }
            if level.level < 1 {
                return Err(InvalidInput::new(field("level"), "must be 1 or 2"));
            }
            if !seen.insert(level.level) {
                return Err(InvalidInput::new(field("level"), "appears twice"));
            }
            check_bp(&field("default_bp"), level.default_bp)?;
            for (sku, &bp) in &level.sku_bp {
                if sku.trim().is_empty() || sku.len() > 64 {
                    return Err(InvalidInput::new(
                        field("sku_bp"),
                        "SKUs must be 1 to 64 characters",
                    ));
                }
                check_bp(&field(&format!("sku_bp[{sku}]")), bp)?;
            }
        }
        if !seen.contains(&1) {
            return Err(InvalidInput::new("levels", "level 2 needs a level 1"));
        }
        let default_sum: i64 = self.levels.iter().map(|l| l.default_bp).sum();
        if default_sum > FULL_RATE_BP {
            return Err(InvalidInput::new(
                "levels",
                format!(
                    "the default rates add up to {default_sum} basis points; \
                     at most {FULL_RATE_BP}"
                ),
            ));
        }
        for sku in self.levels.iter().flat_map(|l| l.sku_bp.keys()) {
            let sum: i64 = (1..=MAX_LEVELS).map(|level| self.rate_bp(level, sku)).sum();
            if sum > FULL_RATE_BP {
                return Err(InvalidInput::new(
                    "levels",
                    format!(
                        "the rates for sku {sku} add up to {sum} basis points; \
                         at most {FULL_RATE_BP}"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The rate for `sku` at `level`: its override, else the level's default; 0 for a level
    /// the table does not have.
    pub fn rate_bp(&self, level: u8, sku: &str) -> i64 {
        self.levels
            .iter()
            .find(|l| l.level == level)
            .map_or(0, |l| l.sku_bp.get(sku).copied().unwrap_or(l.default_bp))
    }
}

fn check_bp(field: &str, bp: i64) -> Result<(), InvalidInput> {
    if (0..=FULL_RATE_BP).contains(&bp) {
        Ok(())
    } else {
        Err(InvalidInput::new(
            field,
            format!("must be 0 to {FULL_RATE_BP} basis points"),
        ))
    }
}

/// One line's commission at one level. The paid amount and rate are kept so that refunds
/// are clawed back at the rate in force when the order was paid, whatever the table says
/// later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineCommission {
    pub line: i64,
    pub paid_fen: i64,
    pub rate_bp: i64,
    pub fen: i64,
}

/// What one level earns on an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelCommission {
    pub level: u8,
    pub lines: Vec<LineCommission>,
    pub total_fen: i64,
}

/// `floor(paid × rate / 10000)`; a negative amount earns nothing. Computed in i128, so any
/// i64 amount is safe.
pub fn commission_fen(paid_fen: i64, rate_bp: i64) -> i64 {
    let paid = i128::from(paid_fen.max(0));
    let rate = i128::from(rate_bp.clamp(0, FULL_RATE_BP));
    (paid * rate / i128::from(FULL_RATE_BP)) as i64
}

/// Each level's commission on an order, levels in ascending order, lines in input order.
pub fn commissions(lines: &[PaidLine], rates: &RateTable) -> Vec<LevelCommission> {
    let mut levels: Vec<u8> = rates.levels.iter().map(|l| l.level).collect();
    levels.sort_unstable();
    levels
        .into_iter()
        .map(|level| {
            let lines: Vec<LineCommission> = lines
                .iter()
                .map(|l| {
                    let rate_bp = rates.rate_bp(level, &l.sku);
                    LineCommission {
                        line: l.line,
                        paid_fen: l.paid_fen,
                        rate_bp,
                        fen: commission_fen(l.paid_fen, rate_bp),
                    }
                })
                .collect();
            LevelCommission {
                level,
                total_fen: lines.iter().map(|l| l.fen).sum(),
                lines,
            }
        })
        .collect()
}

/// The commission a line keeps once `refunded_total_fen` of it has been refunded
/// (clamped to `0..=line_paid_fen`).
pub fn kept_commission(line_paid_fen: i64, refunded_total_fen: i64, rate_bp: i64) -> i64 {
    let paid = line_paid_fen.max(0);
    commission_fen(paid - refunded_total_fen.clamp(0, paid), rate_bp)
}

/// What one refund of `refund_fen` claws back from a line that had `refunded_before_fen`
/// refunded already: never negative, and summed over any sequence of refunds it equals the
/// original commission minus the kept one.
pub fn clawback_for_refund(
    line_paid_fen: i64,
    refunded_before_fen: i64,
    refund_fen: i64,
    rate_bp: i64,
) -> i64 {
    let after = refunded_before_fen.saturating_add(refund_fen.max(0));
    kept_commission(line_paid_fen, refunded_before_fen, rate_bp)
        - kept_commission(line_paid_fen, after, rate_bp)
}

/// The clawback per line for one refund of `refund` `(line, fen)` pairs, given what each
/// line had refunded before (`(line, fen)`; lines not listed had nothing refunded).
/// Refuses unknown lines, repeated lines and refunds beyond what is left of a line.
pub fn clawback(
    original: &LevelCommission,
    refunded_before: &[(i64, i64)],
    refund: &[(i64, i64)],
) -> Result<Vec<(i64, i64)>, InvalidInput> {
    let mut seen = BTreeSet::new();
    refund
        .iter()
        .enumerate()
        .map(|(i, &(line_no, fen))| {
            let field = |name: &str| format!("refund[{i}].{name}");
            let line = original
                .lines
                .iter()
                .find(|l| l.line == line_no)
                .ok_or_else(|| {
                    InvalidInput::new(field("line"), format!("the order has no line {line_no}"))
                })?;
            if !seen.insert(line_no) {
                return Err(InvalidInput::new(
                    field("line"),
                    "each line may appear once per refund",
                ));
            }
            let before: i64 = refunded_before
                .iter()
                .filter(|(l, _)| *l == line_no)
                .map(|(_, f)| *f)
                .sum();
            let left = line.paid_fen - before;
            if !(0..=left).contains(&fen) || before < 0 {
                return Err(InvalidInput::new(
                    field("fen"),
                    format!("must be 0 to {left}, what line {line_no} has not had refunded"),
                ));
            }
            Ok((
                line_no,
                clawback_for_refund(line.paid_fen, before, fen, line.rate_bp),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn level(level: u8, default_bp: i64, overrides: &[(&str, i64)]) -> LevelRates {
        LevelRates {
            level,
            default_bp,
            sku_bp: overrides
                .iter()
                .map(|(sku, bp)| (sku.to_string(), *bp))
                .collect(),
        }
    }

    fn paid(line: i64, sku: &str, paid_fen: i64) -> PaidLine {
        PaidLine {
            line,
            sku: sku.into(),
            paid_fen,
        }
    }

    #[test]
    fn a_third_level_is_refused_as_pyramid_selling() {
        let table = RateTable {
            levels: vec![level(1, 1_000, &[]), level(2, 500, &[]), level(3, 100, &[])],
        };
        let err = table.check().unwrap_err();
        assert_eq!(err.field(), "levels[2].level");
        assert!(err.message().contains("pyramid"));
    }

    #[test]
    fn check_refuses_odd_levels_and_rates() {
        let field =
            |levels: Vec<LevelRates>| RateTable { levels }.check().unwrap_err().field().to_owned();
        assert_eq!(field(vec![]), "levels");
        assert_eq!(field(vec![level(0, 100, &[])]), "levels[0].level");
        assert_eq!(
            field(vec![level(1, 100, &[]), level(1, 100, &[])]),
            "levels[1].level"
        );
        assert_eq!(field(vec![level(2, 100, &[])]), "levels");
        assert_eq!(field(vec![level(1, -1, &[])]), "levels[0].default_bp");
        assert_eq!(field(vec![level(1, 10_001, &[])]), "levels[0].default_bp");
        assert_eq!(
            field(vec![level(1, 100, &[("tea", 10_001)])]),
            "levels[0].sku_bp[tea]"
        );
        assert_eq!(field(vec![level(1, 100, &[("", 1)])]), "levels[0].sku_bp");
        assert_eq!(
            field(vec![level(1, 6_000, &[]), level(2, 5_000, &[])]),
            "levels"
        );
        // An override can push one SKU over 100% even when the defaults are fine.
        assert_eq!(
            field(vec![level(1, 1_000, &[("tea", 9_500)]), level(2, 600, &[])]),
            "levels"
        );
        let fine = RateTable {
            levels: vec![
                level(2, 300, &[("tea", 0)]),
                level(1, 1_000, &[("tea", 2_000)]),
            ],
        };
        assert_eq!(fine.check(), Ok(()));
    }

    #[test]
    fn commissions_round_down_and_use_sku_overrides() {
        let table = RateTable {
            levels: vec![
                level(2, 300, &[("tea", 0)]),
                level(1, 1_000, &[("tea", 333)]),
            ],
        };
        let result = commissions(&[paid(0, "tea", 999), paid(1, "cup", 1_999)], &table);
        assert_eq!(result.len(), 2);
        assert_eq!(result[0].level, 1);
        // 999 × 3.33% = 33.27 → 33; 1999 × 10% = 199.9 → 199.
        assert_eq!(
            result[0].lines.iter().map(|l| l.fen).collect::<Vec<_>>(),
            vec![33, 199]
        );
        assert_eq!(result[0].total_fen, 232);
        // Level 2: tea overridden to 0; 1999 × 3% = 59.97 → 59.
        assert_eq!(result[1].level, 2);
        assert_eq!(result[1].total_fen, 59);
        assert_eq!(result[1].lines[1].rate_bp, 300);
    }

    #[test]
    fn split_refunds_claw_back_what_one_refund_would() {
        // 1000 fen at 3.33%: 33 earned. Refunding 500 + 500 vs 1000 at once: both 33.
        assert_eq!(clawback_for_refund(1_000, 0, 1_000, 333), 33);
        let first = clawback_for_refund(1_000, 0, 500, 333);
        let second = clawback_for_refund(1_000, 500, 500, 333);
        assert_eq!((first, second), (17, 16));
        assert_eq!(kept_commission(1_000, 500, 333), 16);
    }

    #[test]
    fn clawback_refuses_unknown_repeated_and_excess_lines() {
        let table = RateTable {
            levels: vec![level(1, 1_000, &[])],
        };
        let original = &commissions(&[paid(0, "tea", 1_000), paid(1, "cup", 500)], &table)[0];
        let field = |before: &[(i64, i64)], refund: &[(i64, i64)]| {
            clawback(original, before, refund)
                .unwrap_err()
                .field()
                .to_owned()
        };
        assert_eq!(field(&[], &[(7, 1)]), "refund[0].line");
        assert_eq!(field(&[], &[(0, 1), (0, 1)]), "refund[1].line");
        assert_eq!(field(&[], &[(1, 501)]), "refund[0].fen");
        assert_eq!(field(&[(1, 400)], &[(1, 101)]), "refund[0].fen");
        assert_eq!(field(&[], &[(1, -1)]), "refund[0].fen");
        assert_eq!(
            clawback(original, &[(1, 400)], &[(1, 100), (0, 1_000)]),
            Ok(vec![(1, 10), (0, 100)])
        );
    }

    /// An order's lines as `(paid_fen, sku index)`, a rate table and a sequence of refunds,
    /// each a list of `(line index, pick)` where `pick` chooses an amount up to what is left.
    type Case = (Vec<(i64, usize)>, RateTable, Vec<Vec<(usize, u64)>>);

    const SKUS: [&str; 3] = ["tea", "cup", "pot"];

    fn rate_table() -> impl Strategy<Value = RateTable> {
        let level_rates = |level: u8| {
            (
                0i64..=5_000,
                prop::collection::btree_map(0usize..3, 0i64..=5_000, 0..=3),
            )
                .prop_map(move |(default_bp, overrides)| LevelRates {
                    level,
                    default_bp,
                    sku_bp: overrides
                        .into_iter()
                        .map(|(sku, bp)| (SKUS[sku].to_owned(), bp))
                        .collect(),
                })
        };
        (level_rates(1), prop::option::of(level_rates(2))).prop_map(|(one, two)| RateTable {
            levels: std::iter::once(one).chain(two).collect(),
        })
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            prop::collection::vec((0i64..=10_000_000, 0usize..3), 1..=6),
            rate_table(),
            prop::collection::vec(
                prop::collection::vec((0usize..6, any::<u64>()), 1..=3),
                0..=8,
            ),
        )
    }

    /// Claws `refund` (line index, fen) back at every level, checking each clawback is
    /// non-negative, and records it in `refunded` and `clawed[level][line]`.
    fn apply_refund(
        lines: &[PaidLine],
        earned: &[LevelCommission],
        refund: &[(usize, i64)],
        refunded: &mut [i64],
        clawed: &mut [Vec<i64>],
    ) -> Result<(), TestCaseError> {
        let before: Vec<(i64, i64)> = lines
            .iter()
            .zip(refunded.iter())
            .map(|(l, r)| (l.line, *r))
            .collect();
        let request: Vec<(i64, i64)> = refund
            .iter()
            .map(|&(i, fen)| (lines[i].line, fen))
            .collect();
        for (level, original) in earned.iter().enumerate() {
            let back = clawback(original, &before, &request).unwrap();
            for (&(i, _), (line, fen)) in refund.iter().zip(back) {
                prop_assert_eq!(line, lines[i].line);
                prop_assert!(fen >= 0, "negative clawback {}", fen);
                clawed[level][i] += fen;
            }
        }
        for &(i, fen) in refund {
            refunded[i] += fen;
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn settled_commission_is_the_rate_on_what_was_kept((order, rates, refunds) in case()) {
            prop_assert_eq!(rates.check(), Ok(()));
            let lines: Vec<PaidLine> = order
                .iter()
                .enumerate()
                .map(|(i, &(paid_fen, sku))| paid(i as i64 * 10, SKUS[sku], paid_fen))
                .collect();
            let earned = commissions(&lines, &rates);
            prop_assert_eq!(earned.len(), rates.levels.len());

            let mut refunded = vec![0i64; lines.len()];
            let mut clawed = vec![vec![0i64; lines.len()]; earned.len()];
            for event in refunds {
                let mut refund: Vec<(usize, i64)> = Vec::new();
                for (i, pick) in event {
                    let i = i % lines.len();
                    if refund.iter().all(|(seen, _)| *seen != i) {
                        let left = lines[i].paid_fen - refunded[i];
                        refund.push((i, (pick % (left as u64 + 1)) as i64));
                    }
                }
                apply_refund(&lines, &earned, &refund, &mut refunded, &mut clawed)?;
                for (level, original) in earned.iter().enumerate() {
                    let mut settled_total = 0;
                    for (i, line) in lines.iter().enumerate() {
                        let rate = rates.rate_bp(original.level, &line.sku);
                        let settled = original.lines[i].fen - clawed[level][i];
                        let kept = line.paid_fen - refunded[i];
                        prop_assert_eq!(settled, commission_fen(kept, rate));
                        prop_assert_eq!(settled, kept_commission(line.paid_fen, refunded[i], rate));
                        settled_total += settled;
                    }
                    let kept_total: i64 = lines
                        .iter()
                        .zip(&refunded)
                        .map(|(l, r)| {
                            commission_fen(l.paid_fen - r, rates.rate_bp(original.level, &l.sku))
                        })
                        .sum();
                    let clawed_total: i64 = clawed[level].iter().sum();
                    prop_assert_eq!(original.total_fen - clawed_total, kept_total);
                    prop_assert_eq!(settled_total, kept_total);
                }
            }

            // Refunding whatever is left claws back everything that was earned.
            let rest: Vec<(usize, i64)> = lines
                .iter()
                .enumerate()
                .map(|(i, l)| (i, l.paid_fen - refunded[i]))
                .collect();
            apply_refund(&lines, &earned, &rest, &mut refunded, &mut clawed)?;
            for (level, original) in earned.iter().enumerate() {
                let earned_per_line: Vec<i64> = original.lines.iter().map(|l| l.fen).collect();
                prop_assert_eq!(&clawed[level], &earned_per_line);
            }
        }
    }
}
