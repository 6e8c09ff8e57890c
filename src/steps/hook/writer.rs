//! The store's one owner while the server runs: a thread that takes every request waiting, runs
//! them in one transaction, commits once, and only then answers them (group commit). A burst of
//! deliveries costs one commit per group instead of one per delivery, requests never queue on a
//! lock, and no async task ever blocks on the database. A second thread checkpoints the WAL on its
//! own connection about a second after commits: that work, and the fsyncs that make the commits
//! power-cut safe, never sit inside a commit (see `Store::open` on `synchronous`).

use super::store::{Store, StoreError};
use std::path::PathBuf;
use tokio::sync::{mpsc, oneshot};

/// Called once the request's group committed (`None`) or failed to (`Some`).
type Finish = Box<dyn FnOnce(Option<&StoreError>) + Send>;
/// A request: runs on the writer thread inside the group transaction.
type Work = Box<dyn FnOnce(&mut Store) -> Finish + Send>;

/// Most requests one group takes; the rest start the next one. Large enough that a burst of
/// deliveries from every allowed connection fits in a few groups, small enough that one group
/// stays a few milliseconds of work.
const MAX_GROUP: usize = 256;

/// Requests waiting for the writer; a sender waits when it is full (back-pressure, not memory).
const QUEUE: usize = 4096;

/// After a commit, the checkpointer waits this long (gathering more commits) before it checkpoints.
const CHECKPOINT_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// A handle on the writer thread; clones share it. The thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct StoreHandle {
    requests: mpsc::Sender<Work>,
    path: PathBuf,
}

impl StoreHandle {
    /// Moves `store` to its own thread, and starts the checkpointer on a second connection.
    pub fn start(store: Store) -> Result<StoreHandle, StoreError> {
        let path = store.path().to_path_buf();
        let gone = |_| StoreError::WriterGone { path: path.clone() };
        let checkpointer = Store::open(&path)?;
        store.stop_auto_checkpoints()?;
        let (committed, commits) = std::sync::mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("hook-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpointer, &commits))
            .map_err(gone)?;
        let (requests, mut incoming) = mpsc::channel::<Work>(QUEUE);
        std::thread::Builder::new()
            .name("hook-store".into())
            .spawn(move || {
                let mut store = store;
                while let Some(first) = incoming.blocking_recv() {
                    let mut group = vec![first];
                    while group.len() < MAX_GROUP {
                        match incoming.try_recv() {
                            Ok(work) => group.push(work),
                            Err(_) => break,
                        }
                    }
                    run_group(&mut store, group);
                    let _ = committed.send(());
                }
            })
            .map_err(gone)?;
        Ok(StoreHandle { requests, path })
    }

    fn gone(&self) -> StoreError {
        StoreError::WriterGone { path: self.path.clone() }
    }

    /// Runs `f` in the next group and returns its result once that group is committed: a write
    /// it made is on disk when this returns `Ok`.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let path = self.path.clone();
        let work: Work = Box::new(move |store| {
            let result = f(store);
            Box::new(move |failed: Option<&StoreError>| {
                let result = match failed {
                    Some(e) => Err(StoreError::Commit { path, message: e.to_string() }),
                    None => result,
                };
                let _ = reply.send(result);
            })
        });
        self.requests.send(work).await.map_err(|_| self.gone())?;
        answer.await.map_err(|_| self.gone())?
    }

    /// Queues `f` without waiting for its group to commit (log rows no answer depends on); a
    /// failure goes to `log`. Waits only while the queue is full.
    pub async fn submit<F>(&self, f: F, log: mpsc::UnboundedSender<String>)
    where
        F: FnOnce(&mut Store) -> Result<(), StoreError> + Send + 'static,
    {
        let path = self.path.clone();
        let log_failure = log.clone();
        let work: Work = Box::new(move |store| {
            let result = f(store);
            Box::new(move |failed: Option<&StoreError>| {
                let log = log_failure;
                let failed = match (failed, result) {
                    (Some(e), _) => Some(StoreError::Commit { path, message: e.to_string() }.to_string()),
                    (None, Err(e)) => Some(e.to_string()),
                    (None, Ok(())) => None,
                };
                if let Some(e) = failed {
                    let _ = log.send(format!("hook: could not log a refused delivery: {e}"));
                }
            })
        });
        if self.requests.send(work).await.is_err() {
            let _ = log.send(format!("hook: could not log a refused delivery: {}", self.gone()));
        }
    }
}

/// Checkpoints a while after commits, and once more when the writer has stopped. A failed
/// checkpoint loses nothing (the WAL keeps the data); the next one tries again.
fn checkpoint_loop(store: &Store, commits: &std::sync::mpsc::Receiver<()>) {
    while commits.recv().is_ok() {
        std::thread::sleep(CHECKPOINT_AFTER);
        while commits.try_recv().is_ok() {}
        let _ = store.checkpoint();
    }
    let _ = store.checkpoint();
}

/// One group: BEGIN, every request (each all or nothing by itself), COMMIT, then the answers.
fn run_group(store: &mut Store, group: Vec<Work>) {
    // Without the group transaction (the database stayed locked past the busy timeout), each
    // request runs as its own transaction and reports its own failure.
    let grouped = store.begin_group().is_ok();
    let finishers: Vec<Finish> = group.into_iter().map(|work| work(store)).collect();
    let committed = if grouped { store.end_group() } else { Ok(()) };
    for finish in finishers {
        finish(committed.as_ref().err());
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::{Accepted, DeliveryRecord, NewJob};
    use super::*;

    fn record(n: usize) -> DeliveryRecord {
        DeliveryRecord {
            event: "push".into(),
            delivery_id: Some(format!("d-{n}")),
            body_sha256: Some(format!("digest-{n}")),
            status: 202,
            verdict: "accepted".into(),
            headers: "{}".into(),
            ..DeliveryRecord::default()
        }
    }

    fn job() -> NewJob {
        NewJob {
            rule: "r".into(),
            target: "prod".into(),
            repository: "o/a".into(),
            event: "push".into(),
            git_ref: "refs/heads/main".into(),
            sha: None,
            clone: "/srv/a".into(),
            steps: vec![vec!["gate".into()]],
            report: Vec::new(),
            coalesce: true,
            queue_limit: 16,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_deliveries_are_grouped_and_each_is_stored_before_its_answer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hook.db");
        let handle = StoreHandle::start(Store::open(&path).unwrap()).unwrap();
        let mut calls = tokio::task::JoinSet::new();
        for n in 0..200 {
            let (handle, path) = (handle.clone(), path.clone());
            calls.spawn(async move {
                let accepted = handle.call(move |s| s.accept(&record(n), &[job()])).await.unwrap();
                let Accepted::Queued { delivery, .. } = accepted else { panic!("{accepted:?}") };
                // Answered means committed: another connection sees it at once.
                let reader = Store::open(&path).unwrap();
                assert!(reader.delivery(delivery).unwrap().is_some());
            });
        }
        while let Some(joined) = calls.join_next().await {
            joined.unwrap();
        }
        // A replay inside the same group as its original is still a replay.
        let (a, b) = tokio::join!(
            handle.call(|s| s.accept(&record(500), &[job()])),
            handle.call(|s| s.accept(&record(500), &[job()]))
        );
        let mut answers = [a.unwrap(), b.unwrap()];
        answers.sort_by_key(|a| matches!(a, Accepted::Replay(_)));
        assert!(matches!(answers[0], Accepted::Queued { .. }) && matches!(answers[1], Accepted::Replay(_)));
        let counts = handle.call(|s| s.counts()).await.unwrap();
        assert!(counts.contains(&("deliveries 202".to_string(), 201)), "{counts:?}");
        assert!(counts.contains(&("jobs queued".to_string(), 1)), "coalesced: {counts:?}");
    }

    #[tokio::test]
    async fn a_failing_request_does_not_undo_the_rest_of_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let handle = StoreHandle::start(Store::open(&dir.path().join("hook.db")).unwrap()).unwrap();
        let (bad, good) = tokio::join!(
            handle.call(|s| s.execute_for_test("INSERT INTO no_such_table VALUES (1)")),
            handle.call(|s| s.accept(&record(1), &[job()]))
        );
        assert!(bad.is_err());
        assert!(matches!(good.unwrap(), Accepted::Queued { .. }));
    }
}
