//! The writer loop both group-commit queues share (event ingestion and ledger batches):
//! take everything waiting up to a size limit, store it in one go, answer every caller
//! with its part, and survive a panic in the store step.

use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};

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

/// Runs until every sender is gone. `what` names the queue in logs and errors.
pub(crate) async fn writer<S: Submission>(
    app: App,
    mut receiver: mpsc::Receiver<S>,
    limit: usize,
    what: &'static str,
    store: StoreGroup<S>,
) {
    while let Some(first) = receiver.recv().await {
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
