//! Group commit for flash-sale reservations. Buyers on one node queue for a single
//! writer task that runs everything waiting in one transaction, each attempt's steps
//! undoing themselves when it is refused, and answers every buyer once it has committed:
//! on SQLite one fsync serves a whole group, on PostgreSQL a node holds a stock row's
//! lock once per group instead of once per buyer.

use futures_util::FutureExt;
use quanzi_domain::ids::WorkspaceId;
use quanzi_store::{
    FlashAttempt, FlashOutcome, FlashSaleRow, ReservationRow, ReserveRefusal, StoreError,
};
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

/// Stores the group in as many transactions as it takes: each answers some attempts and
/// may put others off to the next (see `quanzi_store`'s `flash_group`). A transaction
/// answers nothing only when its first attempt needing stock waited for a bucket that
/// another transaction then emptied while stock was left elsewhere: every such round
/// waits for another node's progress, so the loop is not a spin, and it ends once the
/// stock stops moving under it.
async fn store_group(app: &App, group: &[Submission]) -> Result<Vec<Answer>, String> {
    let mut answers: Vec<Option<Answer>> = vec![None; group.len()];
    let mut pending: Vec<usize> = (0..group.len()).collect();
    while !pending.is_empty() {
        let outcomes = store_round(app, group, &pending).await?;
        let mut put_off = Vec::new();
        for (i, outcome) in pending.into_iter().zip(outcomes) {
            match outcome {
                Some(answer) => answers[i] = Some(answer),
                None => put_off.push(i),
            }
        }
        pending = put_off;
    }
    Ok(answers.into_iter().flatten().collect())
}

async fn store_round(
    app: &App,
    group: &[Submission],
    pending: &[usize],
) -> Result<Vec<Option<Answer>>, String> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        match store_round_once(app, group, pending).await {
            Ok(answers) => return Ok(answers),
            Err(err) if err.is_transient() => last = Some(err),
            Err(err) => return Err(err.to_string()),
        }
    }
    Err(format!(
        "flash-sale reservations kept losing races: {last:?}"
    ))
}

/// Stores the `pending` attempts in one transaction (None: put off to the next). Before
/// committing it reads, for every sale it took stock from, whether the sale is still
/// open; a sale cancelled meanwhile has its attempts refused and the rest is stored
/// again without them (see `quanzi_store`'s `flash_cancel` for why that read comes last).
async fn store_round_once(
    app: &App,
    group: &[Submission],
    pending: &[usize],
) -> Result<Vec<Option<Answer>>, StoreError> {
    let mut cancelled: Vec<&str> = Vec::new();
    loop {
        let attempts: Vec<FlashAttempt> = pending
            .iter()
            .map(|&i| &group[i])
            .filter(|s| !cancelled.contains(&s.sale.id.as_str()))
            .map(|s| FlashAttempt {
                workspace: &s.workspace,
                sale: &s.sale,
                first_bucket: s.first_bucket,
                row: &s.row,
            })
            .collect();
        let mut tx = app.store.begin().await?;
        let mut outcomes = tx.reserve_flash_group(&attempts).await?.into_iter();
        let answers: Vec<Option<Answer>> = pending
            .iter()
            .map(|&i| {
                let s = &group[i];
                if cancelled.contains(&s.sale.id.as_str()) {
                    return Some(Err(ReserveRefusal::SaleCancelled));
                }
                match outcomes.next() {
                    Some(FlashOutcome::Reserved(bucket)) => Some(Ok(ReservationRow {
                        bucket,
                        ..s.row.clone()
                    })),
                    Some(FlashOutcome::Refused(why)) => Some(Err(why)),
                    Some(FlashOutcome::Deferred) | None => None,
                }
            })
            .collect();
        let mut took_from: Vec<(&WorkspaceId, &str)> = Vec::new();
        for (&i, answer) in pending.iter().zip(&answers) {
            let s = &group[i];
            let key = (&s.workspace, s.sale.id.as_str());
            if matches!(answer, Some(Ok(_))) && !took_from.contains(&key) {
                took_from.push(key);
            }
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
