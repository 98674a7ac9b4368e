use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use quanzi_store::{ClaimedJob, StoreError, Tx};

use crate::App;

pub type JobFuture = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// One attempt at one job.
#[derive(Clone)]
pub struct JobRun {
    pub app: App,
    pub job: ClaimedJob,
    completed: Arc<AtomicBool>,
}

impl JobRun {
    pub(crate) fn new(app: App, job: ClaimedJob) -> Self {
        Self {
            app,
            job,
            completed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Finishes the job inside `tx`, so its effects and its completion commit together.
    /// Fails with `LeaseLost` (and the caller must not commit) if another worker took over.
    pub async fn complete_in(&self, tx: &mut Tx) -> Result<(), StoreError> {
        tx.complete_job(&self.job.lease, self.app.clock.now())
            .await?;
        self.completed.store(true, Ordering::SeqCst);
        Ok(())
    }

    pub(crate) fn completed_by_handler(&self) -> bool {
        self.completed.load(Ordering::SeqCst)
    }
}

pub trait JobHandler: Send + Sync + 'static {
    fn run(&self, run: JobRun) -> JobFuture;
}

struct FnHandler<F>(F);

impl<F, Fut> JobHandler for FnHandler<F>
where
    F: Fn(JobRun) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    fn run(&self, run: JobRun) -> JobFuture {
        Box::pin((self.0)(run))
    }
}

/// Wraps an async function as a handler.
pub fn handler_fn<F, Fut>(f: F) -> Arc<dyn JobHandler>
where
    F: Fn(JobRun) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Arc::new(FnHandler(f))
}

#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn JobHandler>>,
}

impl Registry {
    pub fn register(&mut self, kind: &'static str, handler: Arc<dyn JobHandler>) {
        self.handlers.insert(kind, handler);
    }

    pub fn get(&self, kind: &str) -> Option<Arc<dyn JobHandler>> {
        self.handlers.get(kind).cloned()
    }
}
