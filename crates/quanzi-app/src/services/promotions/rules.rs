//! Spend-threshold rules (满减送) and timed SKU discounts (限时折扣): promotions that apply
//! to every cart in their window without being claimed. A timed discount that shows a
//! crossed-out original price is checked against what the SKU really sold for.

use std::collections::BTreeMap;

use quanzi_domain::auth::{Role, Scope};
use quanzi_domain::ids::{new_id_body, WorkspaceId};
use quanzi_domain::input::InvalidInput;
use quanzi_domain::promotions::compliance::{check_original_price, PriceCheck};
use quanzi_domain::promotions::pricing::{Offer, OfferKind, ThresholdBasis, ThresholdTier};
use quanzi_domain::time::Timestamp;
use quanzi_store::{NewAuditEntry, PromotionRow};
use serde::{Deserialize, Serialize};

use super::coupon_doc::{ScopeDoc, StackingDoc};
use super::flash::FalseOriginal;
use crate::principal::Principal;
use crate::services::audit_details;
use crate::{App, Error, Result};

pub struct NewPromotion {
    pub name: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// A `Threshold` or an `ActivityPrice` offer (its id is made here).
    pub offer: Offer,
    /// For timed discounts: the crossed-out price shown per SKU.
    pub original_prices: BTreeMap<String, i64>,
    pub on_false_original: FalseOriginal,
}

pub struct Promotion {
    pub row: PromotionRow,
    pub offer: Offer,
    pub original_prices: BTreeMap<String, i64>,
    pub price_checks: Vec<(String, PriceCheck)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PromotionDoc {
    label: String,
    #[serde(default)]
    basis: Option<String>,
    #[serde(default)]
    tiers: Vec<TierDoc>,
    #[serde(default)]
    prices: BTreeMap<String, i64>,
    #[serde(default)]
    original_prices: BTreeMap<String, i64>,
    scope: ScopeDoc,
    stacking: StackingDoc,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TierDoc {
    at: i64,
    amount_off_fen: i64,
    percent_off: u32,
    free_shipping: bool,
    points: i64,
    gift_coupons: Vec<String>,
}

fn kind_of(offer: &Offer) -> Option<&'static str> {
    match offer.kind {
        OfferKind::Threshold { .. } => Some("threshold"),
        OfferKind::ActivityPrice { .. } => Some("timed_discount"),
        _ => None,
    }
}

fn to_doc(offer: &Offer, original_prices: &BTreeMap<String, i64>) -> PromotionDoc {
    let (basis, tiers, prices) = match &offer.kind {
        OfferKind::Threshold { basis, tiers } => (
            Some(
                match basis {
                    ThresholdBasis::Amount => "amount",
                    ThresholdBasis::Quantity => "quantity",
                }
                .to_owned(),
            ),
            tiers
                .iter()
                .map(|t| TierDoc {
                    at: t.at,
                    amount_off_fen: t.amount_off_fen,
                    percent_off: t.percent_off,
                    free_shipping: t.free_shipping,
                    points: t.points,
                    gift_coupons: t.gift_coupons.clone(),
                })
                .collect(),
            BTreeMap::new(),
        ),
        OfferKind::ActivityPrice { prices } => (None, Vec::new(), prices.clone()),
        _ => (None, Vec::new(), BTreeMap::new()),
    };
    PromotionDoc {
        label: offer.label.clone(),
        basis,
        tiers,
        prices,
        original_prices: original_prices.clone(),
        scope: (&offer.scope).into(),
        stacking: (&offer.stacking).into(),
    }
}

fn read(row: PromotionRow) -> Result<Promotion> {
    let doc: PromotionDoc = serde_json::from_str(&row.definition).map_err(|err| {
        Error::Internal(anyhow::anyhow!(
            "promotion {} does not parse: {err}",
            row.id
        ))
    })?;
    let kind = match row.kind.as_str() {
        "threshold" => OfferKind::Threshold {
            basis: if doc.basis.as_deref() == Some("quantity") {
                ThresholdBasis::Quantity
            } else {
                ThresholdBasis::Amount
            },
            tiers: doc
                .tiers
                .iter()
                .map(|t| ThresholdTier {
                    at: t.at,
                    amount_off_fen: t.amount_off_fen,
                    percent_off: t.percent_off,
                    free_shipping: t.free_shipping,
                    points: t.points,
                    gift_coupons: t.gift_coupons.clone(),
                })
                .collect(),
        },
        _ => OfferKind::ActivityPrice {
            prices: doc.prices.clone(),
        },
    };
    let offer = Offer {
        id: row.id.clone(),
        label: doc.label.clone(),
        kind,
        scope: (&doc.scope).into(),
        stacking: (&doc.stacking).into(),
    };
    Ok(Promotion {
        row,
        offer,
        original_prices: doc.original_prices,
        price_checks: Vec::new(),
    })
}

pub async fn create(app: &App, principal: &Principal, new: NewPromotion) -> Result<Promotion> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let name = crate::services::checked_name(&new.name)?;
    if new.ends_at <= new.starts_at {
        return Err(InvalidInput::new("ends_at", "must be after starts_at").into());
    }
    let Some(kind) = kind_of(&new.offer) else {
        return Err(InvalidInput::new("kind", "must be threshold or timed_discount").into());
    };
    new.offer.check().map_err(InvalidInput::from)?;
    let ws = &principal.workspace_id;
    let mut price_checks = Vec::new();
    if let OfferKind::ActivityPrice { prices } = &new.offer.kind {
        for (sku, original) in &new.original_prices {
            let Some(price) = prices.get(sku) else {
                return Err(InvalidInput::new(
                    format!("original_prices.{sku}"),
                    "names a SKU without a discount price",
                )
                .into());
            };
            let sales = app.store.sales_before(ws, sku, new.starts_at).await?;
            let check = check_original_price(*original, *price, sales);
            if let (Some(violation), FalseOriginal::Refuse) =
                (check.violation, new.on_false_original)
            {
                return Err(InvalidInput::new(
                    format!("original_prices.{sku}"),
                    format!("{}: {}", violation.code(), violation.message()),
                )
                .into());
            }
            price_checks.push((sku.clone(), check));
        }
    }
    let now = app.clock.now();
    let id = format!("prm_{}", new_id_body(now));
    let mut offer = new.offer;
    offer.id = id.clone();
    if offer.label.trim().is_empty() {
        offer.label = name.clone();
    }
    let row = PromotionRow {
        id,
        kind: kind.into(),
        name,
        definition: serde_json::to_string(&to_doc(&offer, &new.original_prices))
            .map_err(|err| Error::Internal(err.into()))?,
        starts_at: new.starts_at,
        ends_at: new.ends_at,
        status: "active".into(),
        created_at: now,
        updated_at: now,
    };
    let flagged: Vec<&str> = price_checks
        .iter()
        .filter(|(_, c)| c.violation.is_some())
        .map(|(sku, _)| sku.as_str())
        .collect();
    let mut tx = app.store.begin().await?;
    tx.insert_promotion(ws, &row).await?;
    tx.audit(&NewAuditEntry {
        workspace_id: ws.clone(),
        actor: principal.actor_ref(),
        action: "promotion.create",
        target: row.id.clone(),
        details: audit_details(&[
            ("name", &row.name),
            ("kind", kind),
            ("flagged_original_prices", &flagged.join(",")),
        ]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    Ok(Promotion {
        row,
        offer,
        original_prices: new.original_prices,
        price_checks,
    })
}

pub async fn list(app: &App, principal: &Principal) -> Result<Vec<Promotion>> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])?;
    app.store
        .promotions(&principal.workspace_id)
        .await?
        .into_iter()
        .map(read)
        .collect()
}

pub async fn set_active(
    app: &App,
    principal: &Principal,
    id: &str,
    active: bool,
) -> Result<Promotion> {
    principal.require_console(Role::Operator, Scope::Admin)?;
    let now = app.clock.now();
    let status = if active { "active" } else { "paused" };
    let mut tx = app.store.begin().await?;
    if !tx
        .set_promotion_status(&principal.workspace_id, id, status, now)
        .await?
    {
        return Err(Error::NotFound { what: "promotion" });
    }
    tx.audit(&NewAuditEntry {
        workspace_id: principal.workspace_id.clone(),
        actor: principal.actor_ref(),
        action: "promotion.status",
        target: id.to_owned(),
        details: audit_details(&[("status", status)]),
        at: now,
    })
    .await?;
    tx.commit().await?;
    read(app.store.promotion(&principal.workspace_id, id).await?)
}

/// The offers of every promotion running at `now`, with their kind.
pub(crate) async fn running_offers(
    app: &App,
    ws: &WorkspaceId,
    now: Timestamp,
) -> Result<Vec<(Offer, String)>> {
    app.store
        .running_promotions(ws, now)
        .await?
        .into_iter()
        .map(|row| {
            let kind = row.kind.clone();
            read(row).map(|p| (p.offer, kind))
        })
        .collect()
}
