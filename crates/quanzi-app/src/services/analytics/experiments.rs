//! Experiments on stored data. Assignment is a hash of (experiment key, member) with the
//! variants' weights, so it needs no table and every node agrees; the storefront asks
//! for a member's variant, which records the member's first exposure while the
//! experiment runs. Results compare each variant with the first (the control) on the
//! exposed members' orders within the window after their exposure: conversion
//! (Beta-Binomial), net revenue per member (gbstats-style Bayesian test, also CUPED-
//! adjusted with the revenue of the pre-period), a sample-ratio-mismatch check of the
//! split, and — with a holdout — the lift of all variants over the holdout.

use quanzi_domain::analytics::experiments::assignment::{
    assign_in_family, Assignment, HoldoutShare, Weights,
};
use quanzi_domain::analytics::experiments::bayesian::{
    bayesian_test, BayesianConfig, BayesianResult,
};
use quanzi_domain::analytics::experiments::beta_binomial::{
    beta_binomial_test, BetaBinomialResult, BetaDistribution, Conversions,
};
use quanzi_domain::analytics::experiments::cuped::{cuped, CupedArm, CupedResult};
use quanzi_domain::analytics::experiments::incrementality::{holdout_lift, HoldoutLiftResult};
use quanzi_domain::analytics::experiments::level::IntervalLevel;
use quanzi_domain::analytics::experiments::srm::{
    sample_ratio_mismatch, SrmResult, DEFAULT_SRM_THRESHOLD,
};
use quanzi_domain::analytics::experiments::summary::ArmSummary;
use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::new_id_body;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::time::Timestamp;
use quanzi_store::{ExperimentRow, ExposureOutcome, NewAuditEntry};
use serde::{Deserialize, Serialize};

use crate::principal::Principal;
use crate::services::{audit_details, checked_name};
use crate::{App, Error, Result};

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub key: String,
    pub weight: f64,
}

/// What an operator defines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentDefinition {
    /// The first variant is the control.
    pub variants: Vec<Variant>,
    /// Share of members kept out of every variant, to measure the whole program's lift.
    pub holdout_share: f64,
    /// Orders count for a member within this many days of their exposure.
    pub window_days: u32,
    /// The revenue of this many days before exposure is CUPED's covariate.
    pub pre_period_days: u32,
}

impl ExperimentDefinition {
    fn check(&self) -> std::result::Result<(Weights, HoldoutShare), InvalidInput> {
        if !(2..=8).contains(&self.variants.len()) {
            return Err(InvalidInput::new("variants", "needs 2 to 8 variants"));
        }
        for (i, v) in self.variants.iter().enumerate() {
            if !is_key(&v.key) {
                return Err(InvalidInput::new(
                    format!("variants[{i}].key"),
                    "must be 1 to 64 of a-z, 0-9, _ and -",
                ));
            }
            if self.variants[..i].iter().any(|o| o.key == v.key) {
                return Err(InvalidInput::new(
                    format!("variants[{i}].key"),
                    "must differ from the other variants' keys",
                ));
            }
        }
        let weights: Vec<f64> = self.variants.iter().map(|v| v.weight).collect();
        let weights = Weights::new(&weights).map_err(|e| e.for_field("variants"))?;
        if self.variants.iter().any(|v| v.weight <= 0.0) {
            return Err(InvalidInput::new(
                "variants",
                "every variant needs a positive weight",
            ));
        }
        if !(0.0..=0.5).contains(&self.holdout_share) {
            return Err(InvalidInput::new(
                "holdout_share",
                "must be between 0 and 0.5",
            ));
        }
        let holdout = HoldoutShare::new(self.holdout_share)?;
        if !(1..=365).contains(&self.window_days) {
            return Err(InvalidInput::new("window_days", "must be 1 to 365 days"));
        }
        if self.pre_period_days > 365 {
            return Err(InvalidInput::new(
                "pre_period_days",
                "must be at most 365 days",
            ));
        }
        Ok((weights, holdout))
    }
}

fn is_key(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    pub id: String,
    pub key: String,
    pub name: String,
    pub definition: ExperimentDefinition,
    pub status: String,
    pub started_at: Option<Timestamp>,
    pub stopped_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

fn parse(row: ExperimentRow) -> Result<Experiment> {
    let definition = serde_json::from_str(&row.definition)
        .map_err(|_| Error::Internal(anyhow::anyhow!("experiment {} is corrupt", row.id)))?;
    Ok(Experiment {
        id: row.id,
        key: row.key,
        name: row.name,
        definition,
        status: row.status,
        started_at: row.started_at,
        stopped_at: row.stopped_at,
        created_at: row.created_at,
    })
}

pub async fn create(
    app: &App,
    principal: &Principal,
    key: &str,
    name: &str,
    definition: ExperimentDefinition,
) -> Result<Experiment> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    if !is_key(key) {
        return Err(InvalidInput::new("key", "must be 1 to 64 of a-z, 0-9, _ and -").into());
    }
    let name = checked_name(name)?;
    definition.check()?;
    let now = app.clock.now();
    let row = ExperimentRow {
        id: format!("exp_{}", new_id_body(now)),
        workspace_id: principal.workspace_id.to_string(),
        key: key.to_owned(),
        name,
        definition: serde_json::to_string(&definition).map_err(|e| Error::Internal(e.into()))?,
        status: "draft".into(),
        started_at: None,
        stopped_at: None,
        created_at: now,
    };
    let mut tx = app.store.begin().await?;
    tx.insert_experiment(&row).await.map_err(|e| match e {
        quanzi_store::StoreError::Conflict { .. } => Error::conflict(
            "experiment_key_taken",
            format!("an experiment with key {key} exists; keys are never reused"),
        ),
        other => other.into(),
    })?;
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "experiment.create",
        target: row.id.clone(),
        details: audit_details(&[("key", key)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    parse(row)
}

pub async fn list(app: &App, principal: &Principal) -> Result<Vec<Experiment>> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    app.store
        .experiments(&principal.workspace_id)
        .await?
        .into_iter()
        .map(parse)
        .collect()
}

pub async fn get(app: &App, principal: &Principal, id_or_key: &str) -> Result<Experiment> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    load(app, principal, id_or_key).await
}

async fn load(app: &App, principal: &Principal, id_or_key: &str) -> Result<Experiment> {
    parse(
        app.store
            .experiment(&principal.workspace_id, id_or_key)
            .await
            .map_err(Error::not_found("experiment"))?,
    )
}

/// Starts a draft (`running`) or stops a running experiment (`stopped`); a stopped one
/// stays stopped, so its results keep meaning what they meant.
pub async fn transition(
    app: &App,
    principal: &Principal,
    id_or_key: &str,
    to: &str,
) -> Result<Experiment> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let experiment = load(app, principal, id_or_key).await?;
    let from = match to {
        "running" => "draft",
        "stopped" => "running",
        _ => return Err(InvalidInput::new("status", "must be running or stopped").into()),
    };
    let now = app.clock.now();
    let mut tx = app.store.begin().await?;
    if !tx
        .set_experiment_status(&principal.workspace_id, &experiment.id, from, to, now)
        .await?
    {
        return Err(Error::conflict(
            "experiment_status",
            format!(
                "the experiment is {}; only a {from} experiment can become {to}",
                experiment.status
            ),
        ));
    }
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "experiment.status",
        target: experiment.id.clone(),
        details: audit_details(&[("status", to)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    load(app, principal, &experiment.id).await
}

/// A member's variant: `None` for the holdout. Records the first exposure while the
/// experiment runs; a draft or stopped experiment answers the control without recording.
pub async fn assign(
    app: &App,
    principal: &Principal,
    id_or_key: &str,
    member_id: &str,
) -> Result<(Experiment, Option<usize>, bool)> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    let experiment = load(app, principal, id_or_key).await?;
    let member = app
        .store
        .member(&principal.workspace_id, member_id)
        .await
        .map_err(Error::not_found("member"))?;
    if experiment.status != "running" {
        return Ok((experiment, Some(0), false));
    }
    let (weights, holdout) = experiment.definition.check()?;
    let assignment = assign_in_family(
        &experiment.key,
        holdout,
        &experiment.key,
        &member.id,
        &weights,
    );
    let index = match assignment {
        Assignment::Holdout => -1,
        Assignment::Variant(v) => v as i64,
    };
    let mut tx = app.store.begin().await?;
    // Sticky: a member keeps the variant of their first exposure (the hash decides only
    // the first), so one who took over another's exposure in a merge sees what was counted.
    let recorded = tx
        .record_exposure(
            &principal.workspace_id,
            &experiment.id,
            &member.id,
            index,
            app.clock.now(),
        )
        .await?;
    tx.commit().await?;
    let variant = usize::try_from(recorded)
        .ok()
        .filter(|v| *v < weights.len());
    Ok((experiment, variant, true))
}

/// One arm's exposed members and what they did.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmStats {
    /// The variant key, or `holdout`.
    pub key: String,
    pub members: u64,
    pub converted: u64,
    pub orders: u64,
    pub revenue_fen: i64,
    pub revenue: Option<ArmSummary>,
}

/// One variant against the control. A test that cannot run on the data so far (too few
/// members, no variance) says why instead of a number.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub variant: String,
    pub conversion: std::result::Result<BetaBinomialResult, String>,
    pub revenue: std::result::Result<BayesianResult, String>,
    pub revenue_cuped: std::result::Result<(CupedResult, BayesianResult), String>,
}

#[derive(Debug, Clone)]
pub struct Results {
    pub experiment: Experiment,
    pub as_of: Timestamp,
    pub arms: Vec<ArmStats>,
    pub holdout: Option<ArmStats>,
    pub comparisons: Vec<Comparison>,
    pub srm: std::result::Result<SrmResult, String>,
    pub srm_threshold: f64,
    pub holdout_lift: Option<std::result::Result<HoldoutLiftResult, String>>,
}

fn arm(key: &str, outcomes: &[&ExposureOutcome]) -> ArmStats {
    let revenue: Vec<f64> = outcomes.iter().map(|o| o.revenue_fen as f64).collect();
    let sum: f64 = revenue.iter().sum();
    let squares: f64 = revenue.iter().map(|r| r * r).sum();
    ArmStats {
        key: key.to_owned(),
        members: outcomes.len() as u64,
        converted: outcomes.iter().filter(|o| o.orders > 0).count() as u64,
        orders: outcomes.iter().map(|o| o.orders as u64).sum(),
        revenue_fen: outcomes.iter().map(|o| o.revenue_fen).sum(),
        revenue: ArmSummary::from_sums(outcomes.len() as u64, sum, squares).ok(),
    }
}

fn cuped_arm(outcomes: &[&ExposureOutcome]) -> CupedArm {
    let pairs: Vec<(f64, f64)> = outcomes
        .iter()
        .map(|o| (o.revenue_fen as f64, o.pre_revenue_fen as f64))
        .collect();
    CupedArm::from_pairs(&pairs)
}

fn compare(
    variant: &str,
    control: (&ArmStats, &[&ExposureOutcome]),
    treatment: (&ArmStats, &[&ExposureOutcome]),
) -> Comparison {
    let why = |e: InvalidInput| format!("{}: {}", e.field(), e.message());
    let conversion = beta_binomial_test(
        Conversions {
            n: control.0.members,
            conversions: control.0.converted,
        },
        Conversions {
            n: treatment.0.members,
            conversions: treatment.0.converted,
        },
        BetaDistribution::new(1.0, 1.0).expect("the uniform prior is valid"),
    )
    .map_err(why);
    let config = BayesianConfig::default();
    let revenue = match (&control.0.revenue, &treatment.0.revenue) {
        (Some(c), Some(t)) => bayesian_test(c, t, &config).map_err(why),
        _ => Err("revenue: each arm needs members with revenue to compare".into()),
    };
    let revenue_cuped = cuped(&cuped_arm(control.1), &cuped_arm(treatment.1))
        .map_err(why)
        .and_then(|c| {
            bayesian_test(&c.control, &c.treatment, &config)
                .map(|b| (c, b))
                .map_err(why)
        });
    Comparison {
        variant: variant.to_owned(),
        conversion,
        revenue,
        revenue_cuped,
    }
}

pub async fn results(app: &App, principal: &Principal, id_or_key: &str) -> Result<Results> {
    principal.require_console(Role::Analyst, Scope::Admin)?;
    let experiment = load(app, principal, id_or_key).await?;
    let def = &experiment.definition;
    let now = app.clock.now();
    let as_of = experiment.stopped_at.unwrap_or(now).min(now);
    let outcomes = app
        .store
        .exposure_outcomes(
            &principal.workspace_id,
            &experiment.id,
            as_of,
            i64::from(def.window_days) * DAY_MS,
            i64::from(def.pre_period_days) * DAY_MS,
        )
        .await?;
    let of = |index: i64| -> Vec<&ExposureOutcome> {
        outcomes.iter().filter(|o| o.variant == index).collect()
    };
    let groups: Vec<Vec<&ExposureOutcome>> = (0..def.variants.len() as i64).map(of).collect();
    let arms: Vec<ArmStats> = def
        .variants
        .iter()
        .zip(&groups)
        .map(|(v, g)| arm(&v.key, g))
        .collect();
    let comparisons = (1..arms.len())
        .map(|i| {
            compare(
                &def.variants[i].key,
                (&arms[0], &groups[0]),
                (&arms[i], &groups[i]),
            )
        })
        .collect();
    let srm = sample_ratio_mismatch(
        &arms.iter().map(|a| a.members).collect::<Vec<_>>(),
        &def.variants.iter().map(|v| v.weight).collect::<Vec<_>>(),
    )
    .map_err(|e| format!("{}: {}", e.field(), e.message()));
    let (holdout, holdout_lift) = if def.holdout_share > 0.0 {
        let held = of(-1);
        let stats = arm("holdout", &held);
        let treated: Vec<&ExposureOutcome> = outcomes.iter().filter(|o| o.variant >= 0).collect();
        let treated_stats = arm("treated", &treated);
        let lift = match (&treated_stats.revenue, &stats.revenue) {
            (Some(t), Some(h)) => holdout_lift(t, h, IntervalLevel::NINETY_FIVE)
                .map_err(|e| format!("{}: {}", e.field(), e.message())),
            _ => Err("revenue: the holdout and the treated need members to compare".into()),
        };
        (Some(stats), Some(lift))
    } else {
        (None, None)
    };
    Ok(Results {
        experiment,
        as_of,
        arms,
        holdout,
        comparisons,
        srm,
        srm_threshold: DEFAULT_SRM_THRESHOLD,
        holdout_lift,
    })
}
