use std::ops::Deref;
use std::sync::Arc;

use quanzi_app::jobs::JobStats;
use quanzi_app::App;

use crate::metrics::Metrics;

/// What every handler can reach. Cloned for every request and every middleware layer that
/// takes it, so a clone is one reference count: cloning the `App` itself touches a score
/// of shared counters (pools, queues, caches), and on two cores those increments bounced
/// between them for about 5 % of a flash sale's CPU time.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub app: App,
    pub metrics: Arc<Metrics>,
    pub job_stats: Arc<JobStats>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self(Arc::new(Shared {
            app,
            metrics: Arc::new(Metrics::default()),
            job_stats: Arc::new(JobStats::default()),
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
