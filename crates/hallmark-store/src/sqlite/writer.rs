//! The batching writer: one thread owns the write connection and commits
//! many callers' work in one durable transaction.
//!
//! Loop: wait for a job, drain whatever else is queued (up to
//! [`MAX_BATCH`]), `BEGIN IMMEDIATE`, run each job inside its own
//! `SAVEPOINT` (a job that fails is rolled back alone), `COMMIT` once, and
//! only then answer every job of the batch. If anything at the transaction
//! level fails (begin, savepoint handling, commit) the whole batch is rolled
//! back and every job in it gets that error.

use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::StoreError;

/// Most jobs committed in one transaction.
pub const MAX_BATCH: usize = 256;

/// Jobs that may wait for the writer before callers are made to wait.
const QUEUE_DEPTH: usize = 4 * MAX_BATCH;

/// Counters of the writer's work since the store was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Jobs run (successful or refused).
    pub jobs: u64,
    /// Transactions committed.
    pub commits: u64,
    /// Transactions that failed as a whole (every job in them got an error).
    pub failed_batches: u64,
    /// The most jobs seen in one transaction.
    pub largest_batch: u64,
}

#[derive(Debug, Default)]
struct Counters {
    jobs: AtomicU64,
    commits: AtomicU64,
    failed_batches: AtomicU64,
    largest_batch: AtomicU64,
}

impl Counters {
    fn record(&self, jobs: usize, committed: bool) {
        let jobs = jobs as u64;
        self.jobs.fetch_add(jobs, Ordering::Relaxed);
        self.largest_batch.fetch_max(jobs, Ordering::Relaxed);
        let counter = if committed {
            &self.commits
        } else {
            &self.failed_batches
        };
        counter.fetch_add(1, Ordering::Release);
    }

    fn snapshot(&self) -> WriterStats {
        WriterStats {
            commits: self.commits.load(Ordering::Acquire),
            failed_batches: self.failed_batches.load(Ordering::Acquire),
            jobs: self.jobs.load(Ordering::Relaxed),
            largest_batch: self.largest_batch.load(Ordering::Relaxed),
        }
    }
}

/// A queued unit of work with its reply channel, type-erased.
trait Job: Send {
    /// Runs the work; `true` if it succeeded and its changes are to be kept.
    fn run(&mut self, tx: &Transaction<'_>) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn answer(self: Box<Self>, batch: &Result<(), StoreError>);
}

struct TypedJob<T, F> {
    work: Option<F>,
    outcome: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for TypedJob<T, F>
where
    T: Send,
    F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, tx: &Transaction<'_>) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| work(tx))).unwrap_or_else(|_| {
            Err(StoreError::backend_message(
                "write job",
                "the write job panicked; its changes were rolled back",
            ))
        });
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(self: Box<Self>, batch: &Result<(), StoreError>) {
        let answer = match (batch, self.outcome) {
            // Even a refusal is reported as the batch error: it may have
            // been caused by an earlier job of the batch that is now undone.
            (Err(e), _) => Err(e.clone()),
            (Ok(()), Some(outcome)) => outcome,
            (Ok(()), None) => Err(StoreError::backend_message("write job", "job was not run")),
        };
        // The caller may have stopped waiting; the work stands regardless.
        let _ = self.reply.send(answer);
    }
}

/// Handle to the writer thread. Dropping it lets the thread finish every
/// queued job, then joins it.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

impl fmt::Debug for Writer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Writer")
            .field("open", &self.queue.is_some())
            .field("stats", &self.counters.snapshot())
            .finish()
    }
}

impl Writer {
    /// Starts the writer thread on `conn` (already configured).
    pub(crate) fn spawn(conn: Connection) -> Result<Self, StoreError> {
        let (queue, jobs) = mpsc::channel(QUEUE_DEPTH);
        let counters = Arc::new(Counters::default());
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("hallmark-store-writer".into())
            .spawn(move || run(conn, jobs, &thread_counters))
            .map_err(|e| StoreError::backend("start writer thread", e))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
            counters,
        })
    }

    /// Queues `work` and waits until the transaction it ran in is durably
    /// committed (or failed).
    pub(crate) async fn submit<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let queue = self.queue.as_ref().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(TypedJob {
            work: Some(work),
            outcome: None,
            reply,
        });
        queue.send(job).await.map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }

    pub(crate) fn stats(&self) -> WriterStats {
        self.counters.snapshot()
    }

    /// Jobs waiting in the queue (not yet taken by the writer).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.queue
            .as_ref()
            .map_or(0, |q| q.max_capacity() - q.capacity())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it is drained.
        drop(self.queue.take());
        if let Some(Err(_)) = self.thread.take().map(JoinHandle::join) {
            tracing::error!("hallmark-store writer thread panicked");
        }
    }
}

fn run(mut conn: Connection, mut jobs: mpsc::Receiver<Box<dyn Job>>, counters: &Counters) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = jobs.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let outcome = run_batch(&mut conn, &mut batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, jobs = batch.len(), "write batch rolled back");
        }
        counters.record(batch.len(), outcome.is_ok());
        for job in batch.drain(..) {
            job.answer(&outcome);
        }
    }
    tracing::debug!("hallmark-store writer finished");
}

fn run_batch(conn: &mut Connection, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| StoreError::backend("begin transaction", e))?;
    for job in batch.iter_mut() {
        tx.execute_batch("SAVEPOINT hallmark_job")
            .map_err(|e| StoreError::backend("open savepoint", e))?;
        let end = if job.run(&tx) {
            "RELEASE hallmark_job"
        } else {
            "ROLLBACK TO hallmark_job; RELEASE hallmark_job"
        };
        // Fails if SQLite already rolled the whole transaction back (I/O
        // error, disk full): then nothing of the batch may be reported done.
        tx.execute_batch(end)
            .map_err(|e| StoreError::backend("close savepoint", e))?;
    }
    tx.commit().map_err(|e| StoreError::backend("commit", e))
}
