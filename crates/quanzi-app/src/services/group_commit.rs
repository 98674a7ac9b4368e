//! The writer loop the group-commit queues share (event ingestion, ledger batches, flash
//! sales): take everything waiting up to a size limit, store it in one go, answer every
//! caller with its part, and survive a panic in the store step. A queue may run several
//! writers over one receiver, each storing its own group in its own transaction.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot, Mutex};

use crate::App;

/// A caller's batch and where its answer goes.
pub(crate) trait Submission: Send + 'static {
    type Answer: Send + 'static;
    /// Its size against the group limit.
    fn size(&self) -> usize;
    fn reply_to(self) -> oneshot::Sender<Result<Self::Answer, String>>;
}

/// Stores a group; answers one per submission, in order.
pub(crate) type StoreGroup<S> =
    for<'a> fn(&'a App, &'a [S]) -> BoxFuture<'a, Result<Vec<<S as Submission>::Answer>, String>>;

/// Starts `writers` writers over one receiver; each runs until every sender is gone.
/// `what` names the queue in logs and errors.
pub(crate) fn spawn<S: Submission>(
    app: App,
    receiver: mpsc::Receiver<S>,
    writers: usize,
    limit: usize,
    what: &'static str,
    store: StoreGroup<S>,
) {
    let receiver = Arc::new(Mutex::new(receiver));
    for _ in 0..writers.max(1) {
        tokio::spawn(writer(app.clone(), receiver.clone(), limit, what, store));
    }
}

async fn writer<S: Submission>(
    app: App,
    receiver: Arc<Mutex<mpsc::Receiver<S>>>,
    limit: usize,
    what: &'static str,
    store: StoreGroup<S>,
) {
    loop {
        // One writer gathers at a time; the others store their groups meanwhile.
        let group = {
            let mut receiver = receiver.lock().await;
            let Some(first) = receiver.recv().await else {
                return;
            };
            let mut size = first.size();
            let mut group = vec![first];
            while size < limit {
                match receiver.try_recv() {
                    Ok(next) => {
                        size += next.size();
                        group.push(next);
                    }
                    Err(_) => break,
                }
            }
            group
        };
        // A panic must not take the writer down: every later batch on this node would
        // fail. The group's callers get an error and the loop goes on.
        let outcome = match std::panic::AssertUnwindSafe(store(&app, &group))
            .catch_unwind()
            .await
        {
            Ok(outcome) => outcome,
            Err(_) => {
                tracing::error!(batches = group.len(), what, "a group commit panicked");
                Err(format!("the {what} writer failed on this batch"))
            }
        };
        match outcome {
            Ok(answers) => {
                for (submission, answer) in group.into_iter().zip(answers) {
                    let _ = submission.reply_to().send(Ok(answer));
                }
            }
            Err(err) => {
                for submission in group {
                    let _ = submission.reply_to().send(Err(err.clone()));
                }
            }
        }
    }
}
