//! Which member an identity belonged to when this node last stored an event for it, so the
//! ingest writer can skip the identity lookup and the member read for devices it has seen
//! (most events come from returning visitors). Measured: those two steps were a quarter of
//! the writer's time.
//!
//! The cache is a hint, never the truth. A member can be merged into another or erased at
//! any time (by this node or another), so the writer checks every cached member in the same
//! transaction that stores the events: the profile update only touches members that are
//! neither merged nor erased, and if it touched fewer than it was given the writer forgets
//! the workspace's entries and stores the group again the slow way. Entries are learnt only
//! after a commit, so a rolled-back member is never remembered.

use std::collections::HashMap;
use std::sync::Mutex;

use quanzi_domain::ids::WorkspaceId;
use quanzi_store::IdentityRef;

/// Entries kept at most (about 200 bytes each); past it the cache starts afresh, which
/// costs one slow lookup per identity and bounds memory whatever the traffic.
const CAPACITY: usize = 500_000;

#[derive(Debug, Default)]
pub struct IdentityCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    workspaces: HashMap<WorkspaceId, HashMap<IdentityRef, String>>,
    entries: usize,
}

impl IdentityCache {
    /// The members remembered for those of `identities` this node has seen.
    pub fn known<'a>(
        &self,
        workspace: &WorkspaceId,
        identities: impl Iterator<Item = &'a IdentityRef>,
    ) -> HashMap<IdentityRef, String> {
        let inner = self.lock();
        let Some(known) = inner.workspaces.get(workspace) else {
            return HashMap::new();
        };
        identities
            .filter_map(|identity| Some((identity.clone(), known.get(identity)?.clone())))
            .collect()
    }

    /// Remembers members learnt by a transaction that has committed.
    pub fn learn(&self, workspace: &WorkspaceId, learnt: HashMap<IdentityRef, String>) {
        if learnt.is_empty() {
            return;
        }
        let mut inner = self.lock();
        if inner.entries + learnt.len() > CAPACITY {
            inner.workspaces.clear();
            inner.entries = 0;
        }
        let known = inner.workspaces.entry(workspace.clone()).or_default();
        let before = known.len();
        known.extend(learnt);
        let added = known.len() - before;
        inner.entries += added;
    }

    /// Forgets a workspace's entries: one of them named a member that was merged or erased.
    pub fn forget(&self, workspace: &WorkspaceId) {
        let mut inner = self.lock();
        if let Some(known) = inner.workspaces.remove(workspace) {
            inner.entries -= known.len();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map is only ever left whole (no panics while it is held), so a poisoned lock
        // still guards a usable map.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use quanzi_domain::members::{IdentityKind, LookupKey};
    use quanzi_domain::time::Timestamp;

    use super::*;

    fn identity(n: usize) -> IdentityRef {
        (
            IdentityKind::DeviceId,
            LookupKey::from_stored(format!("dev-{n}")),
        )
    }

    #[test]
    fn remembers_per_workspace_and_forgets_a_workspace_whole() {
        let cache = IdentityCache::default();
        let now = Timestamp::from_millis(1);
        let (a, b) = (WorkspaceId::generate(now), WorkspaceId::generate(now));
        cache.learn(&a, HashMap::from([(identity(1), "mem_1".to_owned())]));
        cache.learn(&b, HashMap::from([(identity(1), "mem_2".to_owned())]));
        let asked = [identity(1), identity(2)];
        assert_eq!(
            cache.known(&a, asked.iter()),
            HashMap::from([(identity(1), "mem_1".to_owned())])
        );
        assert_eq!(cache.known(&b, asked.iter())[&identity(1)], "mem_2");
        cache.forget(&a);
        assert!(cache.known(&a, asked.iter()).is_empty());
        assert_eq!(cache.known(&b, asked.iter()).len(), 1);
    }

    #[test]
    fn starts_afresh_rather_than_grow_past_its_capacity() {
        let cache = IdentityCache::default();
        let ws = WorkspaceId::generate(Timestamp::from_millis(1));
        let first: HashMap<_, _> = (0..CAPACITY)
            .map(|n| (identity(n), format!("mem_{n}")))
            .collect();
        cache.learn(&ws, first);
        cache.learn(
            &ws,
            HashMap::from([(identity(CAPACITY), "mem_new".to_owned())]),
        );
        let asked = [identity(0), identity(CAPACITY)];
        let known = cache.known(&ws, asked.iter());
        assert_eq!(known.len(), 1, "the old entries were dropped");
        assert_eq!(known[&identity(CAPACITY)], "mem_new");
        assert_eq!(cache.lock().entries, 1);
    }
}
