//! Group commit for event ingestion. Concurrent ingest requests on one node hand their
//! checked events to a single writer task, which stores everything waiting in one
//! transaction and answers each request once that transaction has committed. Durability on
//! acknowledgement is unchanged; what changes is that one fsync, one identity lookup and
//! one profile update now serve many requests, and concurrent batches no longer fight over
//! the same member rows.

use std::collections::{HashMap, HashSet};

use futures_util::FutureExt;
use quanzi_domain::ids::WorkspaceId;
use quanzi_domain::members::{Identity, IncomingEvent, LookupKey, PiiKey};
use quanzi_domain::time::Timestamp;
use quanzi_store::{Backend, IdentityRef, NewEvent, NewIdentity, ProfileDelta, StoreError, Tx};
use tokio::sync::{mpsc, oneshot};

use super::members::{resolve_members, Hold};
use crate::principal::Principal;
use crate::services::group_commit;
use crate::App;

/// Events taken into one transaction at most (the first request is always taken whole).
const GROUP_LIMIT: usize = 8_000;
const ATTEMPTS: usize = 8;

/// One request's checked events and where to send its (accepted, duplicates) answer.
pub(crate) struct Submission {
    pub principal: Principal,
    pub events: Vec<IncomingEvent>,
    pub reply: oneshot::Sender<Result<(usize, usize), String>>,
}

impl group_commit::Submission for Submission {
    type Answer = (usize, usize);

    fn size(&self) -> usize {
        self.events.len()
    }

    fn reply_to(self) -> oneshot::Sender<Result<(usize, usize), String>> {
        self.reply
    }
}

pub(crate) type Queue = mpsc::Sender<Submission>;

/// Starts the writer tasks; they end when every sender is gone.
pub(crate) fn start(app: App) -> Queue {
    let (sender, receiver) = mpsc::channel::<Submission>(256);
    let writers = writers(app.store.backend());
    group_commit::spawn(
        app,
        receiver,
        writers,
        GROUP_LIMIT,
        "ingest",
        |app, group| store_group(app, group).boxed(),
    );
    sender
}

/// SQLite has one writer at a time anyway. On PostgreSQL a single writer left both the
/// database and quanzi half idle, each waiting on the other's turn (statements, encoding,
/// the commit's flush); two groups in flight overlap them. Writers cannot deadlock on
/// members: the only member locks they take are the profile update's, in id order.
fn writers(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 2,
    }
}

/// Stores a group, retrying lost races; returns (accepted, duplicates) per submission.
async fn store_group(app: &App, group: &[Submission]) -> Result<Vec<(usize, usize)>, String> {
    let key = app.pii_key().await.map_err(|e| format!("{e:#}"))?;
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match store_group_once(app, &key, group).await {
            Ok(counts) => return Ok(counts),
            Err(err) if err.is_transient() => last = Some(err),
            Err(err) => return Err(err.to_string()),
        }
    }
    Err(format!("ingest kept losing races: {last:?}"))
}

async fn store_group_once(
    app: &App,
    key: &PiiKey,
    group: &[Submission],
) -> Result<Vec<(usize, usize)>, StoreError> {
    let now = app.clock.now();
    let mut counts = vec![(0usize, 0usize); group.len()];
    let mut workspaces: Vec<&WorkspaceId> =
        group.iter().map(|s| &s.principal.workspace_id).collect();
    workspaces.sort();
    workspaces.dedup();
    // Earning rules are read before the transaction: a second pooled connection taken
    // while the writer is held could wait on a pool that concurrent writers drained.
    let mut rule_contexts = HashMap::new();
    for workspace in &workspaces {
        let context = super::loyalty::rules::load(app, workspace)
            .await
            .map_err(|e| StoreError::Corrupt(format!("loyalty settings: {e}")))?;
        rule_contexts.insert(*workspace, context);
    }
    let mut learnt = Vec::new();
    let mut tx = app.store.begin().await?;
    for workspace in workspaces {
        // The first occurrence of an event id in the group is stored; later ones are
        // duplicates of it, whichever request they came in.
        let mut seen = HashSet::new();
        let mut events: Vec<(usize, &IncomingEvent)> = Vec::new();
        let mut principal = None;
        for (i, submission) in group
            .iter()
            .enumerate()
            .filter(|(_, s)| &s.principal.workspace_id == workspace)
        {
            principal = Some(&submission.principal);
            for event in &submission.events {
                if seen.insert(event.event_id.as_str()) {
                    events.push((i, event));
                } else {
                    counts[i].1 += 1;
                }
            }
        }
        let Some(principal) = principal else { continue };
        let stored = store_events(&mut tx, app, principal, key, &events, now).await?;
        let (inserted, rows) = (stored.inserted, stored.rows);
        learnt.push((workspace, stored.learnt));
        if let Some(Some(context)) = rule_contexts.get(workspace) {
            let stored: Vec<&NewEvent> = rows
                .iter()
                .filter(|r| inserted.contains(&r.event_id))
                .collect();
            let points = super::loyalty::rules::requests_for_events(
                &mut tx, workspace, context, &stored, now,
            )
            .await?;
            if !points.is_empty() {
                super::loyalty::ledger::apply_in(&mut tx, workspace, &points, now).await?;
            }
        }
        for (i, event) in &events {
            if inserted.contains(&event.event_id) {
                counts[*i].0 += 1;
            } else {
                counts[*i].1 += 1;
            }
        }
    }
    tx.commit().await?;
    for (workspace, members) in learnt {
        app.identity_cache.learn(workspace, members);
    }
    Ok(counts)
}

/// What `store_events` did.
struct Stored {
    /// The event ids stored now (the others were stored before).
    inserted: HashSet<String>,
    /// Every row, with its member.
    rows: Vec<NewEvent>,
    /// Identities looked up in the database, and their live members: for the identity
    /// cache once the transaction has committed.
    learnt: HashMap<IdentityRef, String>,
}

/// Resolves members (through the identity cache where it can), inserts the new events and
/// adds them to profiles, inside `tx`.
async fn store_events(
    tx: &mut Tx,
    app: &App,
    principal: &Principal,
    key: &PiiKey,
    events: &[(usize, &IncomingEvent)],
    now: Timestamp,
) -> Result<Stored, StoreError> {
    let mut lookups: HashMap<&Identity, LookupKey> = HashMap::new();
    let mut identities: Vec<NewIdentity> = Vec::new();
    for (_, e) in events {
        if !lookups.contains_key(&e.identity) {
            let lookup = e.identity.lookup_key(key);
            identities.push(NewIdentity {
                kind: e.identity.kind(),
                lookup: lookup.clone(),
                display: e.identity.masked(),
            });
            lookups.insert(&e.identity, lookup);
        }
    }
    let workspace = &principal.workspace_id;
    let refs: Vec<IdentityRef> = identities
        .iter()
        .map(|i| (i.kind, i.lookup.clone()))
        .collect();
    let mut members = app.identity_cache.known(workspace, refs.iter());
    let unknown: Vec<NewIdentity> = identities
        .into_iter()
        .zip(&refs)
        .filter(|(_, r)| !members.contains_key(*r))
        .map(|(i, _)| i)
        .collect();
    let cached = members.len();
    let learnt = if unknown.is_empty() {
        HashMap::new()
    } else {
        resolve_members(tx, principal, &unknown, now, Hold::Unlocked).await?
    };
    members.extend(learnt.iter().map(|(k, v)| (k.clone(), v.clone())));
    let rows: Vec<NewEvent> = events
        .iter()
        .map(|(_, e)| NewEvent {
            event_id: e.event_id.clone(),
            member_id: members[&(e.identity.kind(), lookups[&e.identity].clone())].clone(),
            event_type: e.event_type.as_str().to_owned(),
            occurred_at: e.occurred_at,
            properties: e.properties.clone(),
            touchpoints: e.touchpoints.clone(),
        })
        .collect();
    let inserted: HashSet<String> = tx
        .insert_events(&principal.workspace_id, &rows, now)
        .await?
        .into_iter()
        .collect();
    let mut deltas: HashMap<&str, ProfileDelta> = HashMap::new();
    for ((_, event), row) in events.iter().zip(&rows) {
        if !inserted.contains(&row.event_id) {
            continue;
        }
        let delta = deltas.entry(row.member_id.as_str()).or_default();
        let at = event.occurred_at;
        if delta.first_seen_at.is_none_or(|t| at < t) {
            delta.first_seen_at = Some(at);
            if event.touchpoints.channel.is_some() {
                delta.channel = event.touchpoints.channel.clone();
            }
        }
        delta.last_seen_at = Some(delta.last_seen_at.map_or(at, |t| t.max(at)));
        if event.event_type.is_interaction() {
            delta.last_interaction_at = Some(delta.last_interaction_at.map_or(at, |t| t.max(at)));
        }
        delta.events += 1;
    }
    // Sorted, so concurrent writers on other nodes lock member rows in the same order.
    let mut deltas: Vec<(String, ProfileDelta)> =
        deltas.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    deltas.sort_by(|a, b| a.0.cmp(&b.0));
    let updated = tx.apply_profile_deltas(&deltas, now).await?;
    if updated != deltas.len() as u64 {
        // A member was merged or erased since it was remembered or looked up (nothing is
        // locked before this update): the rows above name it, so the whole group goes
        // again, looking every identity up.
        if cached > 0 {
            app.identity_cache.forget(workspace);
        }
        return Err(StoreError::Changed("a member"));
    }
    Ok(Stored {
        inserted,
        rows,
        learnt,
    })
}
