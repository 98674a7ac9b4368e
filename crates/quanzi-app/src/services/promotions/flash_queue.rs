//! Group commit for flash-sale reservations. Buyers on one node queue for a single
//! writer task that runs everything waiting in one transaction, each attempt's steps
//! undoing themselves when it is refused, and answers every buyer once it has committed:
//! on SQLite one fsync serves a whole group, on PostgreSQL a node holds a stock row's
//! lock once per group instead of once per buyer.

use futures_util::FutureExt;
use quanzi_domain::ids::WorkspaceId;
use quanzi_store::{FlashSaleRow, ReservationRow, ReserveRefusal, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::services::group_commit;
use crate::App;

/// Attempts taken into one transaction at most.
const GROUP_LIMIT: usize = 2_000;
const ATTEMPTS: usize = 8;

/// The reservation as stored (with its bucket), or why there is none.
pub(crate) type Answer = Result<ReservationRow, ReserveRefusal>;

pub(crate) struct Submission {
    pub workspace: WorkspaceId,
    pub sale: FlashSaleRow,
    pub first_bucket: i64,
    pub row: ReservationRow,
    pub reply: oneshot::Sender<Result<Answer, String>>,
}

impl group_commit::Submission for Submission {
    type Answer = Answer;

    fn size(&self) -> usize {
        1
    }

    fn reply_to(self) -> oneshot::Sender<Result<Answer, String>> {
        self.reply
    }
}

pub(crate) type Queue = mpsc::Sender<Submission>;

pub(crate) fn start(app: App) -> Queue {
    let (sender, receiver) = mpsc::channel::<Submission>(GROUP_LIMIT);
    group_commit::spawn(app, receiver, 1, GROUP_LIMIT, "flash-sale", |app, group| {
        store_group(app, group).boxed()
    });
    sender
}

async fn store_group(app: &App, group: &[Submission]) -> Result<Vec<Answer>, String> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match store_group_once(app, group).await {
            Ok(answers) => return Ok(answers),
            Err(err) if err.is_transient() => last = Some(err),
            Err(err) => return Err(err.to_string()),
        }
    }
    Err(format!(
        "flash-sale reservations kept losing races: {last:?}"
    ))
}

/// Stores the group in one transaction. Before committing it reads, for every sale it
/// took stock from, whether the sale is still open; a sale cancelled meanwhile has its
/// attempts refused and the rest is stored again without them (see
/// `quanzi_store`'s `flash_cancel` for why that read comes last).
async fn store_group_once(app: &App, group: &[Submission]) -> Result<Vec<Answer>, StoreError> {
    let mut cancelled: Vec<&str> = Vec::new();
    loop {
        let mut tx = app.store.begin().await?;
        let mut answers = Vec::with_capacity(group.len());
        let mut took_from: Vec<(&WorkspaceId, &str)> = Vec::new();
        for s in group {
            if cancelled.contains(&s.sale.id.as_str()) {
                answers.push(Err(ReserveRefusal::SaleCancelled));
                continue;
            }
            let outcome = tx
                .reserve_flash_stock(&s.workspace, &s.sale, s.first_bucket, &s.row)
                .await?;
            if outcome.is_ok() && !took_from.contains(&(&s.workspace, s.sale.id.as_str())) {
                took_from.push((&s.workspace, s.sale.id.as_str()));
            }
            answers.push(outcome.map(|bucket| ReservationRow {
                bucket,
                ..s.row.clone()
            }));
        }
        let mut closed = Vec::new();
        for (workspace, sale) in took_from {
            if !tx.flash_sale_is_open(workspace, sale).await? {
                closed.push(sale);
            }
        }
        if closed.is_empty() {
            tx.commit().await?;
            return Ok(answers);
        }
        // Dropping the transaction rolls it back.
        cancelled.extend(closed);
    }
}
