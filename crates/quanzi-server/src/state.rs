use std::sync::Arc;

use quanzi_app::jobs::JobStats;
use quanzi_app::App;

use crate::metrics::Metrics;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub metrics: Arc<Metrics>,
    pub job_stats: Arc<JobStats>,
}

impl AppState {
    pub fn new(app: App) -> Self {
        Self {
            app,
            metrics: Arc::new(Metrics::default()),
            job_stats: Arc::new(JobStats::default()),
        }
    }
}
