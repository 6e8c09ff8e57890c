//! The hook's SQLite file (WAL): every delivery with its verdict, every job with its state, so queued
//! and running jobs outlive a restart and `stepkit hook list|show|replay` can read them back.
//! Multi-statement writes use savepoints, so they work alone and inside the server's group
//! transaction (see `writer`).

pub use crate::result::hook::{Delivery, Job};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::{Path, PathBuf};

/// A failure of the store; names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("use the hook store {path}: {source}; check that its directory is writable and no other program holds it")]
    Sql { path: PathBuf, source: rusqlite::Error },
    #[error("create the directory of the hook store {path}: {source}")]
    Dir { path: PathBuf, source: std::io::Error },
    /// The group transaction a request was part of did not commit, so the request did not happen.
    #[error("commit to the hook store {path}: {message}; check that its disk is not full and no other program holds it")]
    Commit { path: PathBuf, message: String },
    #[error("use the hook store {path}: its writer thread stopped; restart `stepkit hook serve`")]
    WriterGone { path: PathBuf },
}

/// A delivery as logged: refused ones keep their headers and verdict, accepted ones their body too.
#[derive(Debug, Clone, Default)]
pub struct DeliveryRecord {
    pub provider: Option<String>,
    pub event: String,
    pub delivery_id: Option<String>,
    pub remote: String,
    /// JSON object of the headers, the GitLab token redacted.
    pub headers: String,
    pub body: Option<Vec<u8>>,
    pub body_sha256: Option<String>,
    pub status: u16,
    pub verdict: String,
}

/// A job to queue for a target.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub rule: String,
    pub target: String,
    pub repository: String,
    pub event: String,
    pub git_ref: String,
    pub sha: Option<String>,
    pub clone: PathBuf,
    pub steps: Vec<Vec<String>>,
    /// Run after `steps` whatever they concluded.
    pub report: Vec<Vec<String>>,
    /// A newer job supersedes the target's queued ones.
    pub coalesce: bool,
    /// Without coalescing, at most this many queued jobs per target.
    pub queue_limit: usize,
}

/// What became of a delivery that passed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Logged as delivery `delivery`; these jobs queued, these older ones superseded.
    Queued { delivery: i64, jobs: Vec<i64>, superseded: Vec<i64> },
    /// Its delivery id or body was accepted before (delivery N).
    Replay(i64),
    /// The target's queue is at its bound.
    QueueFull(String),
}

/// A delivery and, when it was accepted, its body.
pub type StoredDelivery = (Delivery, Option<Vec<u8>>);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS deliveries(
  id INTEGER PRIMARY KEY, received_ms INTEGER NOT NULL, provider TEXT, event TEXT NOT NULL,
  delivery_id TEXT, remote TEXT NOT NULL, headers TEXT NOT NULL, body BLOB, body_sha256 TEXT,
  status INTEGER NOT NULL, verdict TEXT NOT NULL, accepted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS deliveries_id ON deliveries(delivery_id) WHERE accepted = 1;
CREATE INDEX IF NOT EXISTS deliveries_body ON deliveries(body_sha256) WHERE accepted = 1;
CREATE TABLE IF NOT EXISTS jobs(
  id INTEGER PRIMARY KEY, delivery INTEGER NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL,
  repository TEXT NOT NULL, event TEXT NOT NULL, ref TEXT NOT NULL, sha TEXT, clone TEXT NOT NULL,
  steps TEXT NOT NULL, state TEXT NOT NULL, created_ms INTEGER NOT NULL, superseded_by INTEGER, result TEXT,
  report TEXT);
CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(target, state, id);
";

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating) the store at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let error = |source| StoreError::Sql { path: path.to_path_buf(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir { path: path.into(), source })?;
        }
        let conn = Connection::open(path).map_err(error)?;
        // WAL: readers (`hook list` while serving) never block the server. synchronous = NORMAL,
        // and why answering 2xx right after COMMIT is still safe: in WAL mode a NORMAL commit has
        // written its frames to the log file (handed them to the OS) before COMMIT returns, so a
        // crash, a kill -9 or a restart of the server loses nothing and the file is never corrupt.
        // Only the fsync is deferred, to the checkpoint the server runs about a second after any
        // commit (see `writer`): a power cut can lose at most that last second of answered
        // deliveries, which GitHub lists for redelivery. FULL would fsync inside every commit and
        // tie every answer to the disk's latency: on a busy shared host that doubled or tripled
        // the median answer in a burst (docs/performance.md).
        conn.pragma_update(None, "journal_mode", "WAL").map_err(error)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(error)?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(error)?;
        conn.execute_batch(SCHEMA).map_err(error)?;
        // Stores made before rules had `report` steps gain the column (empty: no report steps).
        if conn.prepare("SELECT report FROM jobs LIMIT 0").is_err() {
            conn.execute_batch("ALTER TABLE jobs ADD COLUMN report TEXT").map_err(error)?;
        }
        Ok(Store { conn, path: path.to_path_buf() })
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sql { path: self.path.clone(), source }
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens a group transaction: every write until `end_group` commits (or not) together.
    /// IMMEDIATE takes the write lock now, so the group cannot fail halfway on a busy database.
    pub(super) fn begin_group(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.err(e))
    }

    /// Commits the group transaction; on failure rolls it back, so none of it happened.
    pub(super) fn end_group(&self) -> Result<(), StoreError> {
        self.conn.execute_batch("COMMIT").map_err(|e| {
            let _ = self.conn.execute_batch("ROLLBACK");
            self.err(e)
        })
    }

    /// Leaves checkpoints (copying the WAL back into the database file, with two fsyncs) to another
    /// connection's `checkpoint`, so they never hold up this connection's commits.
    pub(super) fn stop_auto_checkpoints(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(|e| self.err(e))
    }

    /// Copies the WAL back into the database file as far as readers allow, without blocking writers.
    pub(super) fn checkpoint(&self) -> Result<(), StoreError> {
        self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).map_err(|e| self.err(e))
    }

    /// Logs a refused delivery; returns its row id.
    pub fn refuse(&self, record: &DeliveryRecord) -> Result<i64, StoreError> {
        insert_delivery(&self.conn, record, false).map_err(|e| self.err(e))
    }

    /// Logs a verified delivery and queues its jobs all or nothing, unless it is a replay or a
    /// target's queue is full (then it is logged as refused).
    pub fn accept(&mut self, record: &DeliveryRecord, jobs: &[NewJob]) -> Result<Accepted, StoreError> {
        let path = self.path.clone();
        let error = |source| StoreError::Sql { path: path.clone(), source };
        let tx = self.conn.savepoint().map_err(error)?;
        let seen: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM deliveries WHERE accepted = 1 AND (delivery_id = ?1 OR body_sha256 = ?2) LIMIT 1",
            )
            .and_then(|mut stmt| {
                stmt.query_row(params![record.delivery_id, record.body_sha256], |row| row.get(0)).optional()
            })
            .map_err(error)?;
        let refusal =
            |status: u16, verdict: String| DeliveryRecord { status, verdict, body: None, ..record.clone() };
        if let Some(first) = seen {
            insert_delivery(&tx, &refusal(409, format!("refused: replay of delivery {first}")), false)
                .map_err(error)?;
            tx.commit().map_err(error)?;
            return Ok(Accepted::Replay(first));
        }
        for job in jobs.iter().filter(|j| !j.coalesce) {
            let queued: i64 = tx
                .prepare_cached("SELECT count(*) FROM jobs WHERE target = ?1 AND state = 'queued'")
                .and_then(|mut stmt| stmt.query_row([&job.target], |row| row.get(0)))
                .map_err(error)?;
            if queued as usize >= job.queue_limit {
                let verdict =
                    format!("refused: target {} has {queued} jobs queued (its queue-limit)", job.target);
                insert_delivery(&tx, &refusal(503, verdict), false).map_err(error)?;
                tx.commit().map_err(error)?;
                return Ok(Accepted::QueueFull(job.target.clone()));
            }
        }
        let delivery = insert_delivery(&tx, record, true).map_err(error)?;
        let mut ids = Vec::new();
        let mut superseded = Vec::new();
        for job in jobs {
            let id = insert_job(&tx, delivery, job).map_err(error)?;
            if job.coalesce {
                let mut stmt = tx.prepare_cached(SUPERSEDE).map_err(error)?;
                let rows = stmt.query_map(params![id, job.target], |row| row.get(0)).map_err(error)?;
                for row in rows {
                    superseded.push(row.map_err(error)?);
                }
            }
            ids.push(id);
        }
        tx.commit().map_err(error)?;
        Ok(Accepted::Queued { delivery, jobs: ids, superseded })
    }

    /// Queues jobs again for an earlier delivery (`hook replay`); coalescing applies as for a new one.
    pub fn requeue_delivery(&mut self, delivery: i64, jobs: &[NewJob]) -> Result<Vec<i64>, StoreError> {
        let path = self.path.clone();
        let error = |source| StoreError::Sql { path: path.clone(), source };
        let tx = self.conn.savepoint().map_err(error)?;
        let mut ids = Vec::new();
        for job in jobs {
            let id = insert_job(&tx, delivery, job).map_err(error)?;
            if job.coalesce {
                let mut stmt = tx.prepare_cached(SUPERSEDE).map_err(error)?;
                let superseded =
                    stmt.query_map(params![id, job.target], |row| row.get::<_, i64>(0)).map_err(error)?;
                for row in superseded {
                    row.map_err(error)?;
                }
            }
            ids.push(id);
        }
        tx.commit().map_err(error)?;
        Ok(ids)
    }

    /// Jobs a stopped server left running go back to the queue; returns how many.
    pub fn requeue_running(&self) -> Result<usize, StoreError> {
        self.conn
            .execute("UPDATE jobs SET state = 'queued' WHERE state = 'running'", [])
            .map_err(|e| self.err(e))
    }

    /// The oldest queued job of `target`.
    pub fn next_job(&self, target: &str) -> Result<Option<Job>, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "{SELECT_JOB} WHERE target = ?1 AND state = 'queued' ORDER BY id LIMIT 1"
            ))
            .and_then(|mut stmt| stmt.query_row([target], read_job).optional())
            .map_err(|e| self.err(e))
    }

    /// Marks a queued job running; false when something superseded it meanwhile.
    pub fn start_job(&self, id: i64) -> Result<bool, StoreError> {
        let changed = self
            .conn
            .prepare_cached("UPDATE jobs SET state = 'running' WHERE id = ?1 AND state = 'queued'")
            .and_then(|mut stmt| stmt.execute([id]))
            .map_err(|e| self.err(e))?;
        Ok(changed == 1)
    }

    /// Records how a job ended (or `queued` again when a shutdown stopped it).
    pub fn finish_job(&self, id: i64, state: &str, result: &serde_json::Value) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE jobs SET state = ?2, result = ?3 WHERE id = ?1")
            .and_then(|mut stmt| stmt.execute(params![id, state, result.to_string()]))
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// One job.
    pub fn job(&self, id: i64) -> Result<Option<Job>, StoreError> {
        self.conn
            .query_row(&format!("{SELECT_JOB} WHERE id = ?1"), [id], read_job)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The jobs of one delivery.
    pub fn jobs_of(&self, delivery: i64) -> Result<Vec<Job>, StoreError> {
        self.jobs(&format!("{SELECT_JOB} WHERE delivery = ?1 ORDER BY id"), delivery)
    }

    /// The newest `limit` jobs, newest first.
    pub fn recent_jobs(&self, limit: i64) -> Result<Vec<Job>, StoreError> {
        self.jobs(&format!("{SELECT_JOB} ORDER BY id DESC LIMIT ?1"), limit)
    }

    fn jobs(&self, sql: &str, param: i64) -> Result<Vec<Job>, StoreError> {
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt.query_map([param], read_job).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The newest `limit` deliveries, newest first.
    pub fn recent_deliveries(&self, limit: i64) -> Result<Vec<Delivery>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("{SELECT_DELIVERY} ORDER BY id DESC LIMIT ?1"))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([limit], read_delivery).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// One delivery and, when it was accepted, its body.
    pub fn delivery(&self, id: i64) -> Result<Option<StoredDelivery>, StoreError> {
        self.conn
            .query_row(&format!("{SELECT_DELIVERY} WHERE id = ?1"), [id], |row| {
                Ok((read_delivery(row)?, row.get::<_, Option<Vec<u8>>>(10)?))
            })
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Runs raw SQL (tests make a request fail with it).
    #[cfg(test)]
    pub fn execute_for_test(&self, sql: &str) -> Result<(), StoreError> {
        self.conn.execute_batch(sql).map_err(|e| self.err(e))
    }

    /// Counts of deliveries by status and jobs by state (for the serve outcome and tests).
    pub fn counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT 'deliveries ' || status, count(*) FROM deliveries GROUP BY status
                 UNION ALL SELECT 'jobs ' || state, count(*) FROM jobs GROUP BY state",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?))).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

/// A new job of a coalescing target supersedes the target's older queued ones.
const SUPERSEDE: &str = "UPDATE jobs SET state = 'superseded', superseded_by = ?1 WHERE target = ?2 AND state = 'queued' AND id < ?1 RETURNING id";
const SELECT_JOB: &str = "SELECT id, delivery, rule, target, repository, event, ref, sha, clone, steps, state, created_ms, superseded_by, result, report FROM jobs";
const SELECT_DELIVERY: &str = "SELECT id, received_ms, provider, event, delivery_id, remote, status, verdict, headers, length(body), body FROM deliveries";

fn insert_delivery(conn: &Connection, record: &DeliveryRecord, accepted: bool) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "INSERT INTO deliveries(received_ms, provider, event, delivery_id, remote, headers, body, body_sha256, status, verdict, accepted)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
            now_ms(),
            record.provider,
            record.event,
            record.delivery_id,
            record.remote,
            record.headers,
            record.body,
            record.body_sha256,
            record.status,
        record.verdict,
        accepted
    ])?;
    Ok(conn.last_insert_rowid())
}

fn insert_job(conn: &Connection, delivery: i64, job: &NewJob) -> rusqlite::Result<i64> {
    let steps = serde_json::to_string(&job.steps).unwrap_or_else(|_| "[]".into());
    let report = serde_json::to_string(&job.report).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "INSERT INTO jobs(delivery, rule, target, repository, event, ref, sha, clone, steps, state, created_ms, report)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', ?10, ?11)",
    )?
    .execute(params![
            delivery,
            job.rule,
            job.target,
            job.repository,
            job.event,
            job.git_ref,
            job.sha,
            job.clone.to_string_lossy(),
        steps,
        now_ms(),
        report
    ])?;
    Ok(conn.last_insert_rowid())
}

fn read_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<Job> {
    let steps: String = row.get(9)?;
    let result: Option<String> = row.get(13)?;
    let report: Option<String> = row.get(14)?;
    Ok(Job {
        id: row.get(0)?,
        delivery: row.get(1)?,
        rule: row.get(2)?,
        target: row.get(3)?,
        repository: row.get(4)?,
        event: row.get(5)?,
        git_ref: row.get(6)?,
        sha: row.get(7)?,
        clone: PathBuf::from(row.get::<_, String>(8)?),
        steps: serde_json::from_str(&steps).unwrap_or_default(),
        report: report.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default(),
        state: row.get(10)?,
        created_ms: row.get(11)?,
        superseded_by: row.get(12)?,
        result: result.and_then(|r| serde_json::from_str(&r).ok()),
    })
}

fn read_delivery(row: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let headers: String = row.get(8)?;
    Ok(Delivery {
        id: row.get(0)?,
        received_ms: row.get(1)?,
        provider: row.get(2)?,
        event: row.get(3)?,
        delivery_id: row.get(4)?,
        remote: row.get(5)?,
        status: row.get(6)?,
        verdict: row.get(7)?,
        headers: serde_json::from_str(&headers).unwrap_or_default(),
        body_bytes: row.get(9)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(target: &str, coalesce: bool) -> NewJob {
        NewJob {
            rule: "r".into(),
            target: target.into(),
            repository: "o/a".into(),
            event: "push".into(),
            git_ref: "refs/heads/main".into(),
            sha: Some("a".repeat(40)),
            clone: "/srv/a".into(),
            steps: vec![vec!["gate".into()]],
            report: Vec::new(),
            coalesce,
            queue_limit: 2,
        }
    }

    fn record(id: &str) -> DeliveryRecord {
        DeliveryRecord {
            event: "push".into(),
            delivery_id: Some(id.into()),
            body_sha256: Some(format!("digest-{id}")),
            status: 202,
            verdict: "accepted".into(),
            headers: "{}".into(),
            ..DeliveryRecord::default()
        }
    }

    #[test]
    fn a_store_from_before_report_steps_gains_the_column_and_keeps_its_jobs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hook.db");
        let old = SCHEMA.replace(",\n  report TEXT);", ");");
        assert_ne!(old, SCHEMA);
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&old).unwrap();
        conn.execute_batch("INSERT INTO jobs(delivery, rule, target, repository, event, ref, clone, steps, state, created_ms) VALUES (1, 'r', 'prod', 'o/a', 'push', 'refs/heads/main', '/a', '[[\"gate\"]]', 'queued', 0)").unwrap();
        drop(conn);
        let mut store = Store::open(&path).unwrap();
        let old_job = store.next_job("prod").unwrap().unwrap();
        assert_eq!((old_job.steps.len(), old_job.report.len()), (1, 0));
        let mut new = job("prod", false);
        new.report = vec![vec!["notify".into()]];
        let Accepted::Queued { jobs, .. } = store.accept(&record("9"), &[new]).unwrap() else { panic!() };
        assert_eq!(store.job(jobs[0]).unwrap().unwrap().report, [vec!["notify".to_string()]]);
    }

    #[test]
    fn replay_coalescing_bound_and_restart() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("hook.db")).unwrap();
        let Accepted::Queued { jobs: first, .. } = store.accept(&record("1"), &[job("prod", true)]).unwrap()
        else {
            panic!()
        };
        assert_eq!(store.accept(&record("1"), &[job("prod", true)]).unwrap(), Accepted::Replay(1));
        let Accepted::Queued { superseded, .. } = store.accept(&record("2"), &[job("prod", true)]).unwrap()
        else {
            panic!()
        };
        assert_eq!(superseded, first);
        store.accept(&record("3"), &[job("dev", false)]).unwrap();
        store.accept(&record("4"), &[job("dev", false)]).unwrap();
        assert_eq!(
            store.accept(&record("5"), &[job("dev", false)]).unwrap(),
            Accepted::QueueFull("dev".into())
        );
        let next = store.next_job("prod").unwrap().unwrap();
        assert!(store.start_job(next.id).unwrap());
        drop(store);
        let store = Store::open(&dir.path().join("hook.db")).unwrap();
        assert_eq!(store.requeue_running().unwrap(), 1);
        assert_eq!(store.next_job("prod").unwrap().unwrap().id, next.id);
    }
}
