//! Group commit: concurrent changes share one redb write transaction and one sync.
//!
//! redb has one writer at a time, and each commit costs about as much as the change it carries
//! (pages written, checksums; measured ~55 µs without a sync, ~130 µs with one, on the bench
//! machine). So a change is queued as a job; the first thread to find no batch running becomes
//! the leader, runs every queued job in one transaction, commits it once, and hands each job
//! its outcome. Jobs queued meanwhile form the next batch, led by one of their own threads.
//!
//! Every job must either change nothing and fail, or succeed: a job's error does not roll back
//! the batch, so a job checks what it needs before it writes (or undoes its own writes before
//! failing). A failed commit fails every job of the batch.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use redb::WriteTransaction;
use tessera_store::StoreError;

/// What a job does in the shared transaction (`None`: the batch got no transaction), returning
/// how to answer once the commit's outcome is known.
type Run = Box<dyn FnOnce(Option<&WriteTransaction>) -> Finish + Send>;
type Finish = Box<dyn FnOnce(Option<&Failure>) + Send>;

struct Job {
    /// Whether the job needs the commit synced before it answers.
    durable: bool,
    run: Run,
}

/// The queue and whether a batch is running.
#[derive(Default)]
pub(crate) struct Writer {
    state: Mutex<State>,
    wake: Condvar,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = self.lock();
        f.debug_struct("Writer").field("queued", &g.queue.len()).field("leading", &g.leading).finish()
    }
}

#[derive(Default)]
struct State {
    queue: Vec<Job>,
    leading: bool,
}

/// Why a batch failed, given to each of its jobs as an error of its own.
pub(crate) struct Failure {
    full: bool,
    message: String,
}

impl Failure {
    fn of(e: &StoreError) -> Self {
        Failure { full: matches!(e, StoreError::InsufficientStorage), message: e.to_string() }
    }

    fn error(&self) -> StoreError {
        if self.full {
            StoreError::InsufficientStorage
        } else {
            StoreError::Io(std::io::Error::other(format!("the metadata commit failed: {}", self.message)))
        }
    }
}

/// Where a job's answer goes; answers "abandoned" if dropped unanswered (a panic mid-batch).
struct Reply<T> {
    slot: Arc<Mutex<Option<Result<T, StoreError>>>>,
    value: Option<Result<T, StoreError>>,
}

impl<T> Reply<T> {
    fn send(mut self, value: Result<T, StoreError>) {
        self.value = Some(value);
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        let value = self
            .value
            .take()
            .unwrap_or_else(|| Err(StoreError::Io(std::io::Error::other("the metadata write was abandoned"))));
        *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(value);
    }
}

/// Ends a leader's turn, also when a job panics: the next batch needs a leader.
struct TurnEnd<'a>(&'a Writer);

impl Drop for TurnEnd<'_> {
    fn drop(&mut self) {
        self.0.lock().leading = false;
        self.0.wake.notify_all();
    }
}

impl Writer {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `change` in a write transaction shared with concurrent changes and returns its
    /// result once the transaction is committed, and synced if `durable` (a batch is synced
    /// if any of its jobs asks). `commit` runs one batch: given the jobs, it opens the
    /// transaction, runs them in order, and commits.
    pub(crate) fn write<T: Send + 'static>(
        &self,
        durable: bool,
        change: impl FnOnce(&WriteTransaction) -> Result<T, StoreError> + Send + 'static,
        commit: impl Fn(&mut dyn FnMut(&WriteTransaction), bool) -> Result<(), StoreError>,
    ) -> Result<T, StoreError> {
        let slot = Arc::new(Mutex::new(None));
        let reply = Reply { slot: Arc::clone(&slot), value: None };
        let run: Run = Box::new(move |txn| {
            let result = txn.map(change);
            Box::new(move |failure| {
                reply.send(match (result, failure) {
                    (Some(Err(e)), _) => Err(e),
                    (_, Some(f)) => Err(f.error()),
                    (Some(Ok(v)), None) => Ok(v),
                    (None, None) => Err(StoreError::Io(std::io::Error::other("no metadata transaction"))),
                });
            })
        });
        let mut g = self.lock();
        g.queue.push(Job { durable, run });
        loop {
            if let Some(result) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return result;
            }
            if !g.leading {
                g.leading = true;
                let jobs = std::mem::take(&mut g.queue);
                drop(g);
                let turn = TurnEnd(self);
                run_batch(jobs, &commit);
                drop(turn);
                g = self.lock();
                continue;
            }
            g = self.wake.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Runs `jobs` in one transaction through `commit` and answers each.
fn run_batch(jobs: Vec<Job>, commit: &dyn Fn(&mut dyn FnMut(&WriteTransaction), bool) -> Result<(), StoreError>) {
    let durable = jobs.iter().any(|j| j.durable);
    let mut pending: Vec<Run> = jobs.into_iter().map(|j| j.run).collect();
    pending.reverse();
    let mut finishes: Vec<Finish> = Vec::with_capacity(pending.len());
    let outcome = commit(
        &mut |txn| {
            while let Some(run) = pending.pop() {
                finishes.push(run(Some(txn)));
            }
        },
        durable,
    );
    // Jobs that never ran (no transaction could be opened) answer with the failure.
    while let Some(run) = pending.pop() {
        finishes.push(run(None));
    }
    let failure = outcome.err().map(|e| Failure::of(&e));
    for finish in finishes {
        finish(failure.as_ref());
    }
}
