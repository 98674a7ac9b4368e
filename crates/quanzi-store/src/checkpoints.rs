//! SQLite WAL checkpoints off the writer's path.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past 1,000 pages:
//! the writer copies every page back into the database file and fsyncs it before the
//! caller hears "committed", and nothing else can be written meanwhile. Under a sustained
//! write load (group-committed ingest, ledger batches) that was a third of the single
//! writer's time. Here automatic checkpoints are off on every connection; a task on a
//! connection of its own checkpoints (`PASSIVE`) after the writer is released, on the
//! other core, while the writer goes on with its next transaction.
//!
//! A WAL only starts over from its beginning when a write transaction begins with every
//! frame copied back and no checkpoint running, which a busy writer racing the background
//! pass never sees (measured: the WAL grew by every commit). So once the WAL holds more
//! than [`RESTART_FRAMES`], the writer, before its next transaction, waits for the
//! background pass and checkpoints with `TRUNCATE`, which starts the WAL over there and
//! then. That waits for readers still using the WAL, for [`CATCH_UP_WAIT_MS`] at most: a
//! long report must not stall every write. If they are still there, the writer tries
//! again once the WAL has grown by as much again. Durability is SQLite's: checkpoints
//! never change what was committed.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use sqlx::{AnyConnection, Connection, Executor, Row};
use tokio::sync::{mpsc, watch, Mutex};

/// The default bound: WAL frames (pages) after which the writer catches up before its next
/// transaction, 64 MiB of 4 KiB pages.
pub const RESTART_FRAMES: i64 = 16_384;

/// The least time between two background passes.
const PACE: std::time::Duration = std::time::Duration::from_millis(50);

/// How long the writer's catch-up waits for readers still using the WAL.
const CATCH_UP_WAIT_MS: u32 = 20;

/// The write pool's hooks hold this (behind one `Arc`, so cloning a `Store` stays cheap).
#[derive(Debug)]
pub(crate) struct Checkpoints {
    wake: mpsc::Sender<()>,
    shared: Arc<Shared>,
    /// The WAL size at which the writer catches up next.
    catch_up_at: AtomicI64,
    restart_frames: i64,
    /// The writer's usual busy timeout, restored after a catch-up.
    busy_timeout_ms: u32,
}

/// What the background task shares with the handle. Not the wake sender: when the handle
/// is gone, the task ends.
#[derive(Debug)]
struct Shared {
    /// One checkpoint at a time: the writer's catch-up waits for a running background pass
    /// instead of being turned away busy.
    running: Mutex<()>,
    /// Frames in the WAL as the last checkpoint saw them.
    wal_frames: AtomicI64,
    /// Background passes started, and finished (watched by [`Checkpoints::settled`]).
    started: AtomicU64,
    finished: watch::Sender<u64>,
}

impl Checkpoints {
    /// Starts the background task on `conn` (already set up with the store's pragmas). It
    /// ends when the returned handle is dropped.
    pub(crate) fn start(conn: AnyConnection, restart_frames: i64, busy_timeout_ms: u32) -> Self {
        // One slot: wake-ups that arrive while a pass runs fold into the next pass.
        let (wake, woken) = mpsc::channel(1);
        let shared = Arc::new(Shared {
            running: Mutex::new(()),
            wal_frames: AtomicI64::new(0),
            started: AtomicU64::new(0),
            finished: watch::Sender::new(0),
        });
        tokio::spawn(background(conn, woken, shared.clone()));
        Self {
            wake,
            shared,
            catch_up_at: AtomicI64::new(restart_frames),
            restart_frames,
            busy_timeout_ms,
        }
    }

    /// After the writer is released: something may have been committed.
    pub(crate) fn wake(&self) {
        let _ = self.wake.try_send(());
    }

    /// Before the writer is handed out: if the WAL has grown past the bound, copy the rest
    /// back on the writer's own connection and start the WAL over.
    pub(crate) async fn catch_up(&self, writer: &mut AnyConnection) -> sqlx::Result<()> {
        let shared = &self.shared;
        if shared.wal_frames.load(Ordering::Relaxed) <= self.catch_up_at.load(Ordering::Relaxed) {
            return Ok(());
        }
        let _one = shared.running.lock().await;
        writer
            .execute(format!("PRAGMA busy_timeout = {CATCH_UP_WAIT_MS}").as_str())
            .await?;
        let outcome = checkpoint(writer, "TRUNCATE").await;
        writer
            .execute(format!("PRAGMA busy_timeout = {}", self.busy_timeout_ms).as_str())
            .await?;
        let (frames, restarted) = outcome?;
        if restarted {
            shared.wal_frames.store(0, Ordering::Relaxed);
            self.catch_up_at
                .store(self.restart_frames, Ordering::Relaxed);
        } else {
            tracing::info!(
                frames,
                "readers kept the WAL from starting over; trying later"
            );
            shared.wal_frames.store(frames, Ordering::Relaxed);
            self.catch_up_at.store(
                frames.saturating_add(self.restart_frames),
                Ordering::Relaxed,
            );
        }
        Ok(())
    }

    /// Waits until a background pass that started after this call has finished: what was
    /// committed before it is then in the database file (unless a reader still needs the
    /// WAL's copy). For tests.
    pub(crate) async fn settled(&self) {
        let target = self.shared.started.load(Ordering::SeqCst) + 1;
        let mut finished = self.shared.finished.subscribe();
        self.wake();
        // The task only stops when the handle (borrowed here) is gone.
        let _ = finished.wait_for(|done| *done >= target).await;
    }
}

async fn background(mut conn: AnyConnection, mut woken: mpsc::Receiver<()>, shared: Arc<Shared>) {
    while woken.recv().await.is_some() {
        let one = shared.running.lock().await;
        let pass = shared.started.fetch_add(1, Ordering::SeqCst) + 1;
        match checkpoint(&mut conn, "PASSIVE").await {
            Ok((frames, _)) => shared.wal_frames.store(frames, Ordering::Relaxed),
            // The writer's catch-up (and SQLite's own at close) still bound the WAL.
            Err(err) => tracing::warn!(error = %err, "background WAL checkpoint failed"),
        }
        shared.finished.send_replace(pass);
        drop(one);
        // Paced: every pass fsyncs the WAL and the database file, and a pass per commit of a
        // workload of many small commits (flash sales) would double the writer's fsyncs.
        // Commits made meanwhile wait for the next pass together.
        tokio::time::sleep(PACE).await;
    }
    let _ = conn.close().await;
}

/// Runs a checkpoint in `mode`; returns the frames in the WAL (0 outside WAL mode) and
/// whether it did all `mode` asks (every frame copied; for `TRUNCATE`, the WAL emptied).
async fn checkpoint(conn: &mut AnyConnection, mode: &str) -> sqlx::Result<(i64, bool)> {
    // Drained to the end: a statement left mid-way would hold a read lock on the WAL.
    let rows = conn
        .fetch_all(format!("PRAGMA wal_checkpoint({mode})").as_str())
        .await?;
    let row = rows.first().ok_or(sqlx::Error::RowNotFound)?;
    let busy: i64 = row.try_get(0)?;
    let frames: i64 = row.try_get(1)?;
    Ok((frames.max(0), busy == 0))
}
