//! OneID: identify (create, link, merge) and read members.

use std::collections::{BTreeSet, HashMap};

use quanzi_domain::auth::Scope;
use quanzi_domain::ids::new_id_body;
use quanzi_domain::input::InvalidInput;
use quanzi_domain::loyalty::ledger::{Operation, Request};
use quanzi_domain::members::{Identity, IdentityKind};
use quanzi_store::{IdentityRef, IdentityRow, MemberRow, MergeRow, NewIdentity, StoreError, Tx};

use crate::principal::Principal;
use crate::{App, Error, Result};

/// The most identities one identify call may name.
pub const MAX_IDENTITIES: usize = 20;
/// How often a transaction that lost a race is tried again before giving up.
const ATTEMPTS: usize = 8;

pub struct Identified {
    pub member: MemberRow,
    /// True when this call created the member.
    pub created: bool,
    /// Members merged into it by this call.
    pub merged: Vec<String>,
}

/// Parses `(kind, value)` pairs; errors name the index (`identities[1].value`).
pub fn parse_identities(raw: &[(String, String)]) -> Result<Vec<Identity>> {
    if raw.is_empty() || raw.len() > MAX_IDENTITIES {
        return Err(InvalidInput::new(
            "identities",
            format!("name 1 to {MAX_IDENTITIES} identities"),
        )
        .into());
    }
    let mut out = BTreeSet::new();
    for (i, (kind, value)) in raw.iter().enumerate() {
        let kind =
            IdentityKind::parse(kind).map_err(|e| e.for_field(format!("identities[{i}].kind")))?;
        let identity = Identity::parse(kind, value)
            .map_err(|e| e.for_field(format!("identities[{i}].value")))?;
        out.insert(identity);
    }
    Ok(out.into_iter().collect())
}

/// Finds the member these identities belong to, creating one if none does and merging if
/// they belong to several (the oldest survives). `traits` (a JSON object) are merged into
/// the member's, the new values winning.
pub async fn identify(
    app: &App,
    principal: &Principal,
    identities: &[(String, String)],
    traits: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<Identified> {
    principal.require_any(&[Scope::Storefront, Scope::Ingest])?;
    let identities = parse_identities(identities)?;
    if let Some(traits) = traits {
        check_traits(traits)?;
    }
    let key = app.pii_key().await?;
    let new: Vec<NewIdentity> = identities
        .iter()
        .map(|i| NewIdentity {
            kind: i.kind(),
            lookup: i.lookup_key(&key),
            display: i.masked(),
        })
        .collect();
    let via = identities
        .iter()
        .map(|i| i.kind().as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(",");
    let mut last_error = None;
    for _ in 0..ATTEMPTS {
        match identify_once(app, principal, &new, &via, traits).await {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => continue,
            Err(err) if err.is_transient() => last_error = Some(err),
            Err(err) => return Err(err.into()),
        }
    }
    Err(Error::Internal(anyhow::anyhow!(
        "identify kept losing races after {ATTEMPTS} attempts: {last_error:?}"
    )))
}

/// One attempt; `Ok(None)` means the graph changed under us and the caller should retry.
async fn identify_once(
    app: &App,
    principal: &Principal,
    identities: &[NewIdentity],
    via: &str,
    traits: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<Option<Identified>, StoreError> {
    let ws = &principal.workspace_id;
    let now = app.clock.now();
    let refs: Vec<IdentityRef> = identities
        .iter()
        .map(|i| (i.kind, i.lookup.clone()))
        .collect();
    let mut tx = app.store.begin().await?;
    let found = tx.find_identities(ws, &refs).await?;
    let mut owners: Vec<String> = found.values().cloned().collect();
    owners.sort();
    owners.dedup();

    if owners.is_empty() {
        let id = format!("mem_{}", new_id_body(now));
        let traits_text = traits
            .map(|t| serde_json::Value::Object(t.clone()).to_string())
            .unwrap_or_else(|| "{}".into());
        tx.insert_member(ws, &id, &traits_text, now).await?;
        if !tx
            .attach_identities(ws, &id, identities, now)
            .await?
            .is_empty()
        {
            return Ok(None);
        }
        let member = tx.member_for_update(&id).await?;
        super::promotions::coupons::grant_on_registration(&mut tx, ws, &id, now).await?;
        tx.commit().await?;
        return Ok(Some(Identified {
            member,
            created: true,
            merged: Vec::new(),
        }));
    }

    let live = tx.lock_live_members(ws, &owners, true).await?;
    // With the members locked, the graph cannot change; if it changed before we got the
    // locks, start again from the new picture.
    let again = tx.find_identities(ws, &refs).await?;
    if again.values().any(|m| !live.contains_key(m)) {
        return Ok(None);
    }
    let mut members: Vec<MemberRow> = Vec::new();
    for id in live.values().collect::<BTreeSet<_>>() {
        members.push(tx.member_for_update(id).await?);
    }
    members.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    let survivor = members[0].id.clone();
    let mut merged = Vec::new();
    for other in &members[1..] {
        tx.merge_members(ws, &survivor, &other.id, via, now).await?;
        merged.push(other.id.clone());
    }
    if !merged.is_empty() {
        // Points follow the survivor in the same transaction: balances, lots with their
        // expiries, pending order points and debts (open holds of the merged are voided).
        let moves: Vec<Request> = merged
            .iter()
            .map(|from| Request {
                id: format!("merge:{from}"),
                linked: false,
                op: Operation::Merge {
                    from: from.clone(),
                    into: survivor.clone(),
                },
            })
            .collect();
        super::loyalty::ledger::apply_in(&mut tx, ws, &moves, now).await?;
    }
    let missing: Vec<NewIdentity> = identities
        .iter()
        .filter(|i| !again.contains_key(&(i.kind, i.lookup.clone())))
        .cloned()
        .collect();
    if !tx
        .attach_identities(ws, &survivor, &missing, now)
        .await?
        .is_empty()
    {
        return Ok(None);
    }
    if let Some(traits) = traits {
        let current = tx.member_for_update(&survivor).await?;
        tx.set_traits(&survivor, &merge_traits(&current.traits, traits), now)
            .await?;
    }
    let member = tx.member_for_update(&survivor).await?;
    tx.commit().await?;
    Ok(Some(Identified {
        member,
        created: false,
        merged,
    }))
}

fn check_traits(traits: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    if traits.len() > 100 {
        return Err(InvalidInput::new("traits", "at most 100 traits").into());
    }
    for (name, value) in traits {
        if name.is_empty() || name.len() > 64 {
            return Err(InvalidInput::new(
                "traits",
                format!("trait name `{name}` must be 1 to 64 characters"),
            )
            .into());
        }
        if value.to_string().len() > 2048 {
            return Err(InvalidInput::new(
                format!("traits.{name}"),
                "must be at most 2 KiB as JSON",
            )
            .into());
        }
    }
    Ok(())
}

/// Shallow merge: new keys win, `null` removes a trait.
fn merge_traits(current: &str, new: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut merged: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(current).unwrap_or_default();
    for (k, v) in new {
        if v.is_null() {
            merged.remove(k);
        } else {
            merged.insert(k.clone(), v.clone());
        }
    }
    serde_json::Value::Object(merged).to_string()
}

fn require_read(principal: &Principal) -> Result<()> {
    principal.require_any(&[Scope::Storefront, Scope::Admin])
}

pub struct MemberView {
    pub member: MemberRow,
    pub identities: Vec<IdentityRow>,
    pub merges: Vec<MergeRow>,
}

async fn view(app: &App, principal: &Principal, member: MemberRow) -> Result<MemberView> {
    let identities = app
        .store
        .member_identities(&principal.workspace_id, &member.id)
        .await?;
    let merges = app
        .store
        .member_merges(&principal.workspace_id, &member.id)
        .await?;
    Ok(MemberView {
        member,
        identities,
        merges,
    })
}

/// By id; a merged member's id answers with the survivor.
pub async fn get(app: &App, principal: &Principal, id: &str) -> Result<MemberView> {
    require_read(principal)?;
    let member = app
        .store
        .member(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("member"))?;
    view(app, principal, member).await
}

pub async fn lookup(
    app: &App,
    principal: &Principal,
    kind: &str,
    value: &str,
) -> Result<MemberView> {
    require_read(principal)?;
    let identity = Identity::parse(IdentityKind::parse(kind)?, value)?;
    let key = app.pii_key().await?;
    let member = app
        .store
        .member_by_identity(
            &principal.workspace_id,
            identity.kind(),
            &identity.lookup_key(&key),
        )
        .await
        .map_err(Error::not_found("member"))?;
    view(app, principal, member).await
}

/// One entry of a member's timeline.
pub enum TimelineEntry {
    Event(quanzi_store::EventRow),
    Order(quanzi_store::OrderRow),
    Merge(MergeRow),
}

impl TimelineEntry {
    pub fn at(&self) -> quanzi_domain::time::Timestamp {
        match self {
            TimelineEntry::Event(e) => e.occurred_at,
            TimelineEntry::Order(o) => o.paid_at,
            TimelineEntry::Merge(m) => m.at,
        }
    }
}

/// Events, orders and merges, newest first.
pub async fn timeline(
    app: &App,
    principal: &Principal,
    id: &str,
    limit: u32,
) -> Result<(MemberRow, Vec<TimelineEntry>)> {
    require_read(principal)?;
    let ws = &principal.workspace_id;
    let member = app
        .store
        .member(ws, id)
        .await
        .map_err(Error::not_found("member"))?;
    let limit = limit.clamp(1, 200);
    let mut entries: Vec<TimelineEntry> = Vec::new();
    entries.extend(
        app.store
            .member_events(ws, &member.id, None, limit)
            .await?
            .into_iter()
            .map(TimelineEntry::Event),
    );
    entries.extend(
        app.store
            .member_orders(ws, &member.id, limit)
            .await?
            .into_iter()
            .map(TimelineEntry::Order),
    );
    entries.extend(
        app.store
            .member_merges(ws, &member.id)
            .await?
            .into_iter()
            .map(TimelineEntry::Merge),
    );
    entries.sort_by_key(|e| std::cmp::Reverse(e.at()));
    entries.truncate(limit as usize);
    Ok((member, entries))
}

/// How [`resolve_members`] holds the members it resolved until commit.
pub(crate) enum Hold {
    /// Share-locked, so that no merge moves them meanwhile (orders).
    Shared,
    /// Not locked: the caller finds out itself whether a member was merged or erased before
    /// it committed (event ingestion counts the live members its profile update touched).
    /// Share locks taken before the sorted profile update would let two concurrent ingest
    /// writers deadlock.
    Unlocked,
}

/// Resolves each identity to its live member, creating members for unknown identities, in
/// bulk inside `tx`. Used by event ingestion and orders.
pub(crate) async fn resolve_members(
    tx: &mut Tx,
    principal: &Principal,
    identities: &[NewIdentity],
    now: quanzi_domain::time::Timestamp,
    hold: Hold,
) -> Result<HashMap<IdentityRef, String>, StoreError> {
    let (found, created) = find_or_create_owners(tx, principal, identities, now).await?;
    let owners: Vec<String> = found.values().cloned().collect();
    let ws = &principal.workspace_id;
    let live = match hold {
        Hold::Shared => tx.lock_live_members(ws, &owners, false).await?,
        Hold::Unlocked => tx.live_members(ws, &owners).await?,
    };
    // Members this transaction created are live and already locked by it.
    Ok(found
        .into_iter()
        .map(|(identity, owner)| (identity, live[&owner].clone()))
        .chain(created)
        .collect())
}

/// The member each identity belonged to before (perhaps merged since), and the members
/// created now, one per identity nobody had yet.
async fn find_or_create_owners(
    tx: &mut Tx,
    principal: &Principal,
    identities: &[NewIdentity],
    now: quanzi_domain::time::Timestamp,
) -> Result<(HashMap<IdentityRef, String>, HashMap<IdentityRef, String>), StoreError> {
    let ws = &principal.workspace_id;
    let refs: Vec<IdentityRef> = identities
        .iter()
        .map(|i| (i.kind, i.lookup.clone()))
        .collect();
    let mut found = tx.find_identities(ws, &refs).await?;
    let missing: Vec<NewIdentity> = identities
        .iter()
        .filter(|i| !found.contains_key(&(i.kind, i.lookup.clone())))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok((found, HashMap::new()));
    }
    let created = tx.create_members_for(ws, &missing, now).await?;
    let still: Vec<IdentityRef> = refs
        .iter()
        .filter(|r| !found.contains_key(*r) && !created.contains_key(*r))
        .cloned()
        .collect();
    if !still.is_empty() {
        // Created by a concurrent transaction between our lookup and our insert.
        found.extend(tx.find_identities(ws, &still).await?);
    }
    Ok((found, created))
}

/// Queues a recomputation of the workspace's RFM scores (they are also recomputed daily).
pub async fn refresh_rfm(app: &App, principal: &Principal) -> Result<quanzi_domain::ids::JobId> {
    principal.require(Scope::Admin)?;
    Ok(crate::jobs::rfm::enqueue_now(app, &principal.workspace_id).await?)
}

/// Finds members by anything a person might type: a phone in any common spelling, an
/// email, a platform id, a member id. Without `query`, lists members a page at a time.
pub async fn search(
    app: &App,
    principal: &Principal,
    query: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<quanzi_store::Page<MemberRow>> {
    require_read(principal)?;
    let ws = &principal.workspace_id;
    let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(app.store.members_page(ws, after, limit).await?);
    };
    if query.starts_with("mem_") {
        let found = match app.store.member(ws, query).await {
            Ok(member) => vec![member],
            Err(StoreError::NotFound) => Vec::new(),
            Err(err) => return Err(err.into()),
        };
        return Ok(quanzi_store::Page {
            items: found,
            next_cursor: None,
        });
    }
    let key = app.pii_key().await?;
    let mut keys = vec![query.to_owned()];
    for kind in [IdentityKind::Phone, IdentityKind::Email] {
        if let Ok(identity) = Identity::parse(kind, query) {
            keys.push(identity.lookup_key(&key).as_str().to_owned());
        }
    }
    let items = app.store.members_by_lookup_keys(ws, &keys).await?;
    Ok(quanzi_store::Page {
        items,
        next_cursor: None,
    })
}

/// The member behind `id` (following merges), refusing one erased on request: nothing new
/// may be attached to a person who asked to be forgotten.
pub(crate) async fn unerased(app: &App, principal: &Principal, id: &str) -> Result<MemberRow> {
    let member = app
        .store
        .member(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("member"))?;
    if member.erased_at.is_some() {
        return Err(Error::Conflict {
            code: "member_erased",
            message: "this member was erased on request; identify them again to start afresh"
                .into(),
        });
    }
    Ok(member)
}

/// The member behind `id` in the caller's workspace, following merges; 404 otherwise.
pub(crate) async fn find(app: &App, principal: &Principal, id: &str) -> Result<MemberRow> {
    app.store
        .member(&principal.workspace_id, id)
        .await
        .map_err(Error::not_found("member"))
}
