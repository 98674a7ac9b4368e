//! The storage conformance suite: every test runs once on SQLite and once on PostgreSQL,
//! each on a fresh database, and must behave the same.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use quanzi_domain::auth::{Role, Scopes, Secret};
use quanzi_domain::idempotency::{IdempotencyKey, RequestFingerprint};
use quanzi_domain::ids::{ApiKeyId, JobId, OperatorId, WorkspaceId};
use quanzi_domain::jobs::{AfterFailure, JobKind, JobState};
use quanzi_domain::members::{IdentityKind, LookupKey, Touchpoints};
use quanzi_domain::time::Timestamp;
use quanzi_store::testkit::TestDb;
use quanzi_store::{
    Backend, ClaimOutcome, NewApiKey, NewAuditEntry, NewEvent, NewIdentity, NewJob, NewOperator,
    Store, StoreError, StoredResponse, WorkspaceRow,
};

/// Generates `mod $name { sqlite, postgres }`, running the body against a fresh store.
macro_rules! conformance {
    ($($name:ident($store:ident) $body:block)*) => {$(
        mod $name {
            use super::*;
            async fn run($store: Store) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = TestDb::new(Backend::Sqlite).await;
                run(db.store().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = TestDb::new(Backend::Postgres).await;
                run(db.store().await).await;
            }
        }
    )*};
}

const T0: Timestamp = Timestamp::from_millis(1_790_000_000_000);

async fn workspace(store: &Store, name: &str) -> WorkspaceId {
    quanzi_store::testkit::workspace(store, name, T0).await
}

async fn api_key(store: &Store, ws: &WorkspaceId) -> ApiKeyId {
    let key = NewApiKey {
        id: ApiKeyId::generate(T0),
        workspace_id: ws.clone(),
        name: "backend".into(),
        scopes: Scopes::parse_list(["ingest"]).unwrap(),
        secret_hash: Secret::generate().hash(),
        created_by: None,
        created_at: T0,
    };
    let mut tx = store.begin().await.unwrap();
    tx.insert_api_key(&key).await.unwrap();
    tx.commit().await.unwrap();
    key.id
}

fn probe_job(ws: &WorkspaceId, run_at: Timestamp, max_attempts: u32) -> NewJob {
    NewJob {
        id: JobId::generate(run_at),
        workspace_id: Some(ws.clone()),
        kind: JobKind::parse("diagnostics.probe").unwrap(),
        payload: "{}".into(),
        dedup_key: None,
        run_at,
        max_attempts,
    }
}

conformance! {
    migrating_twice_changes_nothing(store) {
        assert_eq!(store.migrate().await.unwrap(), 0);
    }

    workspaces_round_trip(store) {
        let id = workspace(&store, "鲜果时光").await;
        let row = store.workspace(&id).await.unwrap();
        assert_eq!(row.name, "鲜果时光");
        assert_eq!(row.time_zone, "Asia/Shanghai");
        assert!(matches!(store.workspace(&WorkspaceId::generate(T0)).await, Err(StoreError::NotFound)));
    }

    operator_emails_are_unique_and_memberships_carry_roles(store) {
        let ws = workspace(&store, "a").await;
        let op = NewOperator {
            id: OperatorId::generate(T0),
            email: "li@example.com".into(),
            name: "Li".into(),
            password_hash: "$argon2id$stub".into(),
            created_at: T0,
        };
        let mut tx = store.begin().await.unwrap();
        tx.insert_operator(&op).await.unwrap();
        tx.insert_membership(&ws, &op.id, Role::Owner, T0).await.unwrap();
        tx.commit().await.unwrap();

        let mut tx = store.begin().await.unwrap();
        let again = NewOperator { id: OperatorId::generate(T0), ..op.clone() };
        assert!(matches!(tx.insert_operator(&again).await, Err(StoreError::Conflict { what: "operator_email" })));
        drop(tx);

        let member = store.membership(&ws, &op.id).await.unwrap();
        assert_eq!(member.role, Role::Owner);
        assert_eq!(member.operator.email, "li@example.com");
        assert_eq!(store.operator_workspaces(&op.id).await.unwrap(), vec![(ws.clone(), Role::Owner)]);
        let other = workspace(&store, "b").await;
        assert!(matches!(store.membership(&other, &op.id).await, Err(StoreError::NotFound)));
    }

    a_workspace_never_sees_another_workspaces_keys(store) {
        let a = workspace(&store, "a").await;
        let b = workspace(&store, "b").await;
        let key_a = api_key(&store, &a).await;
        api_key(&store, &b).await;
        assert!(matches!(store.api_key(&b, &key_a).await, Err(StoreError::NotFound)));
        let page = store.api_keys(&b, None, 50).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert!(page.items.iter().all(|k| k.workspace_id == b));
        let mut tx = store.begin().await.unwrap();
        assert!(matches!(tx.revoke_api_key(&b, &key_a, T0).await, Err(StoreError::NotFound)));
        drop(tx);
        assert!(store.api_key(&a, &key_a).await.unwrap().revoked_at.is_none());
    }

    revoking_a_key_keeps_the_first_revocation_time(store) {
        let ws = workspace(&store, "a").await;
        let key = api_key(&store, &ws).await;
        for at in [T0.plus(Duration::from_secs(1)), T0.plus(Duration::from_secs(9))] {
            let mut tx = store.begin().await.unwrap();
            tx.revoke_api_key(&ws, &key, at).await.unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(store.api_key(&ws, &key).await.unwrap().revoked_at, Some(T0.plus(Duration::from_secs(1))));
    }

    key_pages_follow_the_cursor(store) {
        let ws = workspace(&store, "a").await;
        for _ in 0..5 {
            api_key(&store, &ws).await;
        }
        let first = store.api_keys(&ws, None, 2).await.unwrap();
        assert_eq!(first.items.len(), 2);
        let second = store.api_keys(&ws, first.next_cursor.as_deref(), 2).await.unwrap();
        let third = store.api_keys(&ws, second.next_cursor.as_deref(), 2).await.unwrap();
        assert_eq!(third.items.len(), 1);
        assert!(third.next_cursor.is_none());
        let mut ids: Vec<_> = [first, second, third].into_iter().flat_map(|p| p.items).map(|k| k.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), 5);
    }

    idempotency_keys_follow_the_decision_table(store) {
        let ws = workspace(&store, "a").await;
        let other_ws = workspace(&store, "b").await;
        let key = IdempotencyKey::parse("k-1").unwrap();
        let fp = RequestFingerprint::of("POST", "/x", b"1");
        let other_fp = RequestFingerprint::of("POST", "/x", b"2");
        let (lock, ttl) = (Duration::from_secs(60), Duration::from_secs(86_400));
        assert_eq!(store.claim_idempotency_key(&ws, &key, &fp, T0, lock, ttl).await.unwrap(), ClaimOutcome::Claimed);
        assert_eq!(store.claim_idempotency_key(&ws, &key, &fp, T0, lock, ttl).await.unwrap(), ClaimOutcome::InFlight);
        assert_eq!(store.claim_idempotency_key(&ws, &key, &other_fp, T0, lock, ttl).await.unwrap(), ClaimOutcome::Mismatch);
        // Keys are scoped by workspace: the same key elsewhere is a different key.
        assert_eq!(store.claim_idempotency_key(&other_ws, &key, &other_fp, T0, lock, ttl).await.unwrap(), ClaimOutcome::Claimed);
        let response = StoredResponse { status: 201, content_type: Some("application/json".into()), body: "{\"ok\":true}".into() };
        store.complete_idempotency_key(&ws, &key, &response).await.unwrap();
        assert_eq!(
            store.claim_idempotency_key(&ws, &key, &fp, T0.plus(Duration::from_secs(5)), lock, ttl).await.unwrap(),
            ClaimOutcome::Replay(response)
        );
        // After 24 hours the key is forgotten.
        let later = T0.plus(ttl);
        assert_eq!(store.claim_idempotency_key(&ws, &key, &other_fp, later, lock, ttl).await.unwrap(), ClaimOutcome::Claimed);
    }

    an_abandoned_idempotency_claim_is_taken_over_after_its_lock(store) {
        let ws = workspace(&store, "a").await;
        let key = IdempotencyKey::parse("k-2").unwrap();
        let fp = RequestFingerprint::of("POST", "/x", b"1");
        let (lock, ttl) = (Duration::from_secs(60), Duration::from_secs(86_400));
        store.claim_idempotency_key(&ws, &key, &fp, T0, lock, ttl).await.unwrap();
        let after_lock = T0.plus(Duration::from_secs(61));
        assert_eq!(store.claim_idempotency_key(&ws, &key, &fp, after_lock, lock, ttl).await.unwrap(), ClaimOutcome::Claimed);
        store.release_idempotency_key(&ws, &key).await.unwrap();
        assert_eq!(store.claim_idempotency_key(&ws, &key, &fp, after_lock, lock, ttl).await.unwrap(), ClaimOutcome::Claimed);
    }

    concurrent_claims_of_one_idempotency_key_admit_exactly_one(store) {
        let ws = workspace(&store, "a").await;
        let key = IdempotencyKey::parse("race").unwrap();
        let fp = RequestFingerprint::of("POST", "/x", b"1");
        let tasks: Vec<_> = (0..20).map(|_| {
            let (store, ws, key, fp) = (store.clone(), ws.clone(), key.clone(), fp.clone());
            tokio::spawn(async move {
                store.claim_idempotency_key(&ws, &key, &fp, T0, Duration::from_secs(60), Duration::from_secs(86_400)).await.unwrap()
            })
        }).collect();
        let mut claimed = 0;
        for task in tasks {
            match task.await.unwrap() {
                ClaimOutcome::Claimed => claimed += 1,
                ClaimOutcome::InFlight => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(claimed, 1);
    }

    jobs_are_claimed_when_due_and_completed_once(store) {
        let ws = workspace(&store, "a").await;
        let due = probe_job(&ws, T0, 3);
        let later = probe_job(&ws, T0.plus(Duration::from_secs(60)), 3);
        assert!(store.enqueue_job(&due, T0).await.unwrap());
        assert!(store.enqueue_job(&later, T0).await.unwrap());
        let lease_until = T0.plus(Duration::from_secs(30));
        let claimed = store.claim_jobs("w1", T0, lease_until, 10).await.unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!(claimed[0].lease.job_id, due.id);
        assert_eq!(claimed[0].lease.attempt, 1);
        assert!(store.claim_jobs("w2", T0, lease_until, 10).await.unwrap().is_empty());
        store.complete_job(&claimed[0].lease, T0).await.unwrap();
        assert!(matches!(store.complete_job(&claimed[0].lease, T0).await, Err(StoreError::LeaseLost)));
        let row = store.job(&ws, &due.id).await.unwrap();
        assert_eq!(row.state, JobState::Done);
        assert_eq!(row.attempts, 1);
    }

    an_expired_lease_passes_the_job_on_and_fences_the_old_worker(store) {
        let ws = workspace(&store, "a").await;
        let job = probe_job(&ws, T0, 5);
        store.enqueue_job(&job, T0).await.unwrap();
        let first = store.claim_jobs("w1", T0, T0.plus(Duration::from_secs(30)), 1).await.unwrap().remove(0);
        let after = T0.plus(Duration::from_secs(31));
        let second = store.claim_jobs("w2", after, after.plus(Duration::from_secs(30)), 1).await.unwrap().remove(0);
        assert_eq!(second.lease.attempt, 2);
        assert!(matches!(store.complete_job(&first.lease, after).await, Err(StoreError::LeaseLost)));
        assert!(matches!(store.extend_job_lease(&first.lease, after, after).await, Err(StoreError::LeaseLost)));
        store.complete_job(&second.lease, after).await.unwrap();
        assert_eq!(store.job(&ws, &job.id).await.unwrap().state, JobState::Done);
    }

    failed_jobs_back_off_then_die(store) {
        let ws = workspace(&store, "a").await;
        let job = probe_job(&ws, T0, 2);
        store.enqueue_job(&job, T0).await.unwrap();
        let lease = T0.plus(Duration::from_secs(30));
        let claim = store.claim_jobs("w1", T0, lease, 1).await.unwrap().remove(0);
        let retry_at = T0.plus(Duration::from_secs(5));
        store.fail_job(&claim.lease, "boom", AfterFailure::RetryAt(retry_at), T0).await.unwrap();
        assert!(store.claim_jobs("w1", T0, lease, 1).await.unwrap().is_empty(), "not before its retry time");
        let claim = store.claim_jobs("w1", retry_at, lease, 1).await.unwrap().remove(0);
        store.fail_job(&claim.lease, "boom again", AfterFailure::Dead, retry_at).await.unwrap();
        let row = store.job(&ws, &job.id).await.unwrap();
        assert_eq!(row.state, JobState::Dead);
        assert_eq!(row.last_error.as_deref(), Some("boom again"));
        let dead = store.jobs(&ws, Some(JobState::Dead), None, 10).await.unwrap();
        assert_eq!(dead.items.len(), 1);
        let retried = store.retry_dead_job(&ws, &job.id, retry_at).await.unwrap();
        assert_eq!(retried.state, JobState::Queued);
        assert!(matches!(store.retry_dead_job(&ws, &job.id, retry_at).await, Err(StoreError::Conflict { .. })));
    }

    a_lease_lost_on_the_last_attempt_makes_the_job_dead(store) {
        let ws = workspace(&store, "a").await;
        let job = probe_job(&ws, T0, 1);
        store.enqueue_job(&job, T0).await.unwrap();
        store.claim_jobs("w1", T0, T0.plus(Duration::from_secs(1)), 1).await.unwrap();
        let later = T0.plus(Duration::from_secs(2));
        assert!(store.claim_jobs("w2", later, later, 1).await.unwrap().is_empty());
        assert_eq!(store.bury_abandoned_jobs(later).await.unwrap(), 1);
        assert_eq!(store.job(&ws, &job.id).await.unwrap().state, JobState::Dead);
    }

    dedup_keys_admit_one_job(store) {
        let ws = workspace(&store, "a").await;
        let mut job = probe_job(&ws, T0, 1);
        job.dedup_key = Some("daily:2026-11-23".into());
        assert!(store.enqueue_job(&job, T0).await.unwrap());
        let twin = NewJob { id: JobId::generate(T0), ..job.clone() };
        assert!(!store.enqueue_job(&twin, T0).await.unwrap());
    }

    concurrent_workers_never_claim_the_same_job(store) {
        let ws = workspace(&store, "a").await;
        let mut tx = store.begin().await.unwrap();
        for _ in 0..200 {
            tx.enqueue_job(&probe_job(&ws, T0, 3), T0).await.unwrap();
        }
        tx.commit().await.unwrap();
        let store = Arc::new(store);
        let workers: Vec<_> = (0..6).map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store.claim_jobs(&format!("w{w}"), T0, T0.plus(Duration::from_secs(60)), 7).await.unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    for job in batch {
                        store.complete_job(&job.lease, T0).await.unwrap();
                        mine.push(job.lease.job_id);
                    }
                }
            })
        }).collect();
        let mut seen: HashMap<JobId, usize> = HashMap::new();
        for worker in workers {
            for id in worker.await.unwrap() {
                *seen.entry(id).or_default() += 1;
            }
        }
        assert_eq!(seen.len(), 200);
        assert!(seen.values().all(|&n| n == 1));
    }

    login_failures_are_counted_per_email_and_address_inside_the_window(store) {
        let t = |s| T0.plus(Duration::from_secs(s));
        store.record_login_attempt("a@x.com", "1.1.1.1", false, t(1)).await.unwrap();
        store.record_login_attempt("a@x.com", "2.2.2.2", false, t(2)).await.unwrap();
        store.record_login_attempt("a@x.com", "1.1.1.1", true, t(3)).await.unwrap();
        store.record_login_attempt("b@x.com", "1.1.1.1", false, t(4)).await.unwrap();
        let (email, address) = store.login_failures_since("a@x.com", "1.1.1.1", T0).await.unwrap();
        assert_eq!((email.count, email.oldest), (2, Some(t(1))));
        assert_eq!((address.count, address.oldest), (2, Some(t(1))));
        let (email, _) = store.login_failures_since("a@x.com", "1.1.1.1", t(1)).await.unwrap();
        assert_eq!(email.count, 1);
    }

    the_audit_log_lists_newest_first_per_workspace(store) {
        let ws = workspace(&store, "a").await;
        let other = workspace(&store, "b").await;
        for (i, target) in ["key_1", "key_2"].into_iter().enumerate() {
            let mut tx = store.begin().await.unwrap();
            tx.audit(&NewAuditEntry {
                workspace_id: ws.clone(),
                actor: "op_x".into(),
                action: "api_key.create",
                target: target.into(),
                details: "{}".into(),
                at: T0.plus(Duration::from_secs(i as u64)),
            }).await.unwrap();
            tx.commit().await.unwrap();
        }
        let page = store.audit_log(&ws, None, 10).await.unwrap();
        assert_eq!(page.items.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(), vec!["key_2", "key_1"]);
        assert!(store.audit_log(&other, None, 10).await.unwrap().items.is_empty());
    }

    events_keep_any_text_exactly_and_skip_stored_ids(store) {
        // PostgreSQL sends bulk events as array literals: quoting must survive every text.
        let ws = workspace(&store, "events").await;
        let texts = ["NULL", "", r#"say "hi" \ bye"#, "a,b{c}", " 杭州 ", r#"{"page":"/item/1"}"#];
        let event = |i: usize| NewEvent {
            event_id: format!("{}-{i}", texts[i % texts.len()]),
            member_id: "mbr_1".into(),
            event_type: texts[(i + 1) % texts.len()].into(),
            occurred_at: Timestamp::from_millis(T0.millis() + i as i64),
            properties: texts[(i + 5) % texts.len()].into(),
            touchpoints: Touchpoints {
                channel: i.is_multiple_of(2).then(|| texts[(i + 2) % texts.len()].to_owned()),
                content_id: Some(texts[(i + 3) % texts.len()].to_owned()),
                ..Touchpoints::default()
            },
        };
        let first: Vec<NewEvent> = (0..6).map(event).collect();
        let mut tx = store.begin().await.unwrap();
        let mut inserted = tx.insert_events(&ws, &first, T0).await.unwrap();
        tx.commit().await.unwrap();
        inserted.sort();
        let mut ids: Vec<String> = first.iter().map(|e| e.event_id.clone()).collect();
        ids.sort();
        assert_eq!(inserted, ids);

        // Again with two new ones: only the new ones are inserted.
        let second: Vec<NewEvent> = (4..8).map(event).collect();
        let mut tx = store.begin().await.unwrap();
        let mut inserted = tx.insert_events(&ws, &second, T0).await.unwrap();
        tx.commit().await.unwrap();
        inserted.sort();
        let mut new_ids = vec![event(6).event_id, event(7).event_id];
        new_ids.sort();
        assert_eq!(inserted, new_ids);

        let mut stored = store.member_events(&ws, "mbr_1", None, 100).await.unwrap();
        stored.sort_by_key(|e| e.occurred_at);
        assert_eq!(stored.len(), 8);
        for (i, row) in stored.iter().enumerate() {
            let sent = event(i);
            assert_eq!(
                (&row.event_id, &row.event_type, &row.properties, &row.touchpoints, row.occurred_at, row.received_at),
                (&sent.event_id, &sent.event_type, &sent.properties, &sent.touchpoints, sent.occurred_at, T0)
            );
        }
    }

    identities_are_created_once_when_some_exist_already_or_repeat(store) {
        // The insert reports which identities it created; on SQLite it reads them back only
        // when the count falls short, which this provokes twice over.
        let ws = workspace(&store, "identities").await;
        let device = |key: &str| NewIdentity {
            kind: IdentityKind::DeviceId,
            lookup: LookupKey::from_stored(key.to_owned()),
            display: key.to_owned(),
        };
        let as_ref = |key: &str| (IdentityKind::DeviceId, LookupKey::from_stored(key.to_owned()));
        let mut tx = store.begin().await.unwrap();
        let first = tx.create_members_for(&ws, &[device("a")], T0).await.unwrap();
        let second = tx
            .create_members_for(&ws, &[device("a"), device("b"), device("b"), device("c")], T0)
            .await
            .unwrap();
        let found = tx
            .find_identities(&ws, &[as_ref("a"), as_ref("b"), as_ref("c")])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(first.len(), 1);
        let mut created: Vec<&LookupKey> = second.keys().map(|(_, key)| key).collect();
        created.sort_by_key(|key| key.as_str().to_owned());
        assert_eq!(created, [&as_ref("b").1, &as_ref("c").1]);
        assert_eq!(found[&as_ref("a")], first[&as_ref("a")]);
        assert_eq!(found[&as_ref("b")], second[&as_ref("b")]);
        assert_eq!(found[&as_ref("c")], second[&as_ref("c")]);
        assert_ne!(second[&as_ref("b")], second[&as_ref("c")]);
        for member in second.values() {
            store.member(&ws, member).await.expect("a created member exists");
        }
    }

    random_event_texts_come_back_exactly(store) {
        // Property: whatever text an event holds (drawn from the characters array literals
        // give meaning to, and others), it is stored and read back unchanged.
        use rand::{Rng, SeedableRng};
        let ws = workspace(&store, "random texts").await;
        let alphabet: Vec<char> = "\"\\{},; \t\nNULLnul'()[]a1-杭😀".chars().collect();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let text = |rng: &mut rand::rngs::StdRng| -> String {
            let len = rng.gen_range(0..12);
            (0..len).map(|_| alphabet[rng.gen_range(0..alphabet.len())]).collect()
        };
        let events: Vec<NewEvent> = (0..300)
            .map(|i| NewEvent {
                event_id: format!("{i}:{}", text(&mut rng)),
                member_id: "mbr_r".into(),
                event_type: text(&mut rng),
                occurred_at: Timestamp::from_millis(T0.millis() + i),
                properties: text(&mut rng),
                touchpoints: Touchpoints {
                    channel: rng.gen_bool(0.5).then(|| text(&mut rng)),
                    utm_term: rng.gen_bool(0.5).then(|| text(&mut rng)),
                    content_id: rng.gen_bool(0.5).then(|| text(&mut rng)),
                    ..Touchpoints::default()
                },
            })
            .collect();
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.insert_events(&ws, &events, T0).await.unwrap().len(), events.len());
        tx.commit().await.unwrap();
        let mut stored = store.member_events(&ws, "mbr_r", None, 500).await.unwrap();
        stored.sort_by_key(|e| e.occurred_at);
        assert_eq!(stored.len(), events.len());
        for (row, sent) in stored.iter().zip(&events) {
            assert_eq!(
                (&row.event_id, &row.event_type, &row.properties, &row.touchpoints),
                (&sent.event_id, &sent.event_type, &sent.properties, &sent.touchpoints)
            );
        }
    }

    a_rolled_back_transaction_leaves_nothing(store) {
        let ws = WorkspaceId::generate(T0);
        let mut tx = store.begin().await.unwrap();
        tx.insert_workspace(&WorkspaceRow { id: ws.clone(), name: "x".into(), time_zone: "UTC".into(), created_at: T0 }).await.unwrap();
        drop(tx);
        assert!(matches!(store.workspace(&ws).await, Err(StoreError::NotFound)));
    }
}
