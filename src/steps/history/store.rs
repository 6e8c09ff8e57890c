//! The history store: the schema and its migrations, recording, retention and the reads `query` needs,
//! written once over `Backend`, the small trait the SQLite and PostgreSQL adapters implement.

use super::{sqlite, HistoryError, Location};
pub use crate::result::history::{Metric, RunKey, Series, StoredRun, TestStats};
use std::collections::BTreeMap;

/// A value bound to or read from SQL. Both backends map their types onto these four.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

impl Value {
    fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            Value::Real(f) => *f as i64,
            _ => 0,
        }
    }

    fn real(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(f) => Some(*f),
            _ => None,
        }
    }

    fn text(self) -> String {
        match self {
            Value::Text(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Real(f) => f.to_string(),
            Value::Null => String::new(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Text(s.to_string())
    }
}

impl From<&String> for Value {
    fn from(s: &String) -> Value {
        Value::Text(s.clone())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Real(f)
    }
}

impl From<Option<f64>> for Value {
    fn from(f: Option<f64>) -> Value {
        f.map_or(Value::Null, Value::Real)
    }
}

/// One result row, columns in the order the statement selects them.
pub type Row = Vec<Value>;

/// Which SQL the backend speaks where the two differ (only the auto-numbered key, and placeholders,
/// which the PostgreSQL adapter rewrites from `?` to `$n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// What a backend must do; everything else is shared. Statements use `?` placeholders.
pub trait Backend {
    fn dialect(&self) -> Dialect;
    /// Starts a write transaction that holds the store's write lock (SQLite: BEGIN IMMEDIATE, so the
    /// busy timeout applies; PostgreSQL: BEGIN plus a transaction-scoped advisory lock when `lock` is set).
    fn begin(&mut self, lock: Option<i64>) -> Result<(), String>;
    fn commit(&mut self) -> Result<(), String>;
    fn rollback(&mut self);
    /// Runs DDL (several statements, no parameters).
    fn batch(&mut self, sql: &str) -> Result<(), String>;
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, String>;
    /// Runs an INSERT into a table with an `id` key and returns the new id.
    fn insert(&mut self, sql: &str, params: &[Value]) -> Result<i64, String>;
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, String>;
}

/// The schema, one entry per version. Applied in order inside one locked transaction, and recorded in
/// `schema_version`, so two jobs opening a new store at once migrate it once. `{ID}` is the dialect's
/// auto-numbered primary key. Never edit a released entry: add the next one.
const MIGRATIONS: &[&str] = &[
    // 1: runs, their numbers (metrics) and their tests.
    "CREATE TABLE runs(
       id {ID},
       recorded_ms BIGINT NOT NULL,
       repository TEXT NOT NULL, branch TEXT NOT NULL, commit_sha TEXT NOT NULL, ci_run TEXT NOT NULL,
       step TEXT NOT NULL, environment TEXT NOT NULL, target TEXT NOT NULL, version TEXT NOT NULL,
       verdict TEXT NOT NULL, exit_code BIGINT NOT NULL, headline TEXT NOT NULL, source TEXT NOT NULL);
     CREATE INDEX runs_series ON runs(step, repository, environment, target, id);
     CREATE TABLE metrics(
       run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
       subject TEXT NOT NULL, name TEXT NOT NULL, value DOUBLE PRECISION NOT NULL,
       PRIMARY KEY(run_id, subject, name));
     CREATE TABLE tests(
       run_id BIGINT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
       classname TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, duration_ms DOUBLE PRECISION);
     CREATE INDEX tests_run ON tests(run_id);",
];

/// The schema version this stepkit writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// PostgreSQL advisory lock keys (arbitrary, fixed): one for migrations, one for retention.
const MIGRATION_LOCK: i64 = 0x5745_7053_4b48_0001;
const RETENTION_LOCK: i64 = 0x5745_7053_4b48_0002;

/// Rows per multi-row INSERT: few round trips to PostgreSQL, and under both databases' parameter limits.
const ROWS_PER_INSERT: usize = 500;

/// One test case's result in a run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TestResult {
    pub classname: String,
    pub name: String,
    /// `passed`, `failed`, `error`, `skipped` or `flaky` (passed after failing).
    pub status: String,
    pub duration_ms: Option<f64>,
}

/// A run to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    pub key: RunKey,
    pub recorded_ms: i64,
    pub verdict: String,
    pub exit_code: i64,
    pub headline: String,
    /// The file it was read from (or `<step> --history`).
    pub source: String,
    pub metrics: Vec<Metric>,
    pub tests: Vec<TestResult>,
}

/// Which runs a read looks at; `None` matches anything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub repository: Option<String>,
    pub branch: Option<String>,
    pub step: Option<String>,
    pub environment: Option<String>,
    pub target: Option<String>,
}

impl Filter {
    /// ` AND column = ?` for each set field, and its parameters.
    fn sql(&self) -> (String, Vec<Value>) {
        let mut sql = String::new();
        let mut params = Vec::new();
        for (column, value) in [
            ("repository", &self.repository),
            ("branch", &self.branch),
            ("step", &self.step),
            ("environment", &self.environment),
            ("target", &self.target),
        ] {
            if let Some(value) = value {
                sql.push_str(&format!(" AND {column} = ?"));
                params.push(Value::from(value));
            }
        }
        (sql, params)
    }
}

/// Row counts, for tests and the record outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub runs: i64,
    pub metrics: i64,
    pub tests: i64,
}

/// An open store.
pub struct Store {
    db: Box<dyn Backend>,
    /// The location as shown to people (no password).
    shown: String,
}

const RUN_COLUMNS: &str = "id, recorded_ms, repository, branch, commit_sha, ci_run, step, environment, target, version, verdict, exit_code, headline, source";

impl Store {
    /// Opens the store at `location` and brings its schema up to date.
    pub fn open(location: &Location) -> Result<Store, HistoryError> {
        let shown = location.to_string();
        let db: Box<dyn Backend> =
            match location {
                Location::Sqlite(path) => Box::new(sqlite::Sqlite::open(path).map_err(|message| {
                    HistoryError::Store { store: shown.clone(), what: "open it".into(), message }
                })?),
                Location::Postgres(pg) => {
                    Box::new(super::postgres::Postgres::connect(pg).map_err(|message| {
                        HistoryError::Store { store: shown.clone(), what: "connect".into(), message }
                    })?)
                }
            };
        let mut store = Store { db, shown };
        store.migrate()?;
        Ok(store)
    }

    /// Wraps a backend error with the store's name and what was being done.
    fn err(&self, what: &str) -> impl Fn(String) -> HistoryError + '_ {
        let what = what.to_string();
        move |message| HistoryError::Store { store: self.shown.clone(), what: what.clone(), message }
    }

    /// Runs `work` in a write transaction; rolls back when it fails.
    fn write<T>(
        &mut self,
        what: &str,
        lock: Option<i64>,
        work: impl FnOnce(&mut dyn Backend) -> Result<T, String>,
    ) -> Result<T, HistoryError> {
        let result = self.db.begin(lock).and_then(|()| {
            let value = work(self.db.as_mut()).and_then(|value| self.db.commit().map(|()| value));
            if value.is_err() {
                self.db.rollback();
            }
            value
        });
        result.map_err(|message| HistoryError::Store {
            store: self.shown.clone(),
            what: what.into(),
            message,
        })
    }

    fn migrate(&mut self) -> Result<(), HistoryError> {
        let dialect = self.db.dialect();
        let newer = self.write("migrate its schema", Some(MIGRATION_LOCK), |db| {
            db.batch(
                "CREATE TABLE IF NOT EXISTS schema_version(version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)",
            )?;
            let current =
                db.query("SELECT MAX(version) FROM schema_version", &[])?.first().and_then(|r| r.first()).map_or(0, Value::int);
            if current > SCHEMA_VERSION {
                return Ok(Some(current));
            }
            for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
                let id = match dialect {
                    Dialect::Sqlite => "INTEGER PRIMARY KEY",
                    Dialect::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                };
                db.batch(&sql.replace("{ID}", id))?;
                db.execute(
                    "INSERT INTO schema_version(version, applied_ms) VALUES (?, ?)",
                    &[Value::Int(i as i64 + 1), Value::Int(now_ms())],
                )?;
            }
            Ok(None)
        })?;
        match newer {
            Some(version) => Err(HistoryError::NewerSchema { store: self.shown.clone(), version }),
            None => Ok(()),
        }
    }

    /// Records `runs` in one transaction (all or none) and returns their ids.
    pub fn record(&mut self, runs: &[NewRun]) -> Result<Vec<i64>, HistoryError> {
        self.write("record the runs", None, |db| {
            let mut ids = Vec::with_capacity(runs.len());
            for run in runs {
                let k = &run.key;
                let id = db.insert(
                    &format!(
                        "INSERT INTO runs({}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &RUN_COLUMNS["id, ".len()..]
                    ),
                    &[
                        Value::Int(run.recorded_ms),
                        (&k.repository).into(),
                        (&k.branch).into(),
                        (&k.commit).into(),
                        (&k.ci_run).into(),
                        (&k.step).into(),
                        (&k.environment).into(),
                        (&k.target).into(),
                        (&k.version).into(),
                        (&run.verdict).into(),
                        Value::Int(run.exit_code),
                        (&run.headline).into(),
                        (&run.source).into(),
                    ],
                )?;
                insert_rows(
                    db,
                    "metrics(run_id, subject, name, value)",
                    run.metrics
                        .iter()
                        .map(|m| vec![Value::Int(id), (&m.subject).into(), (&m.name).into(), m.value.into()]),
                )?;
                insert_rows(
                    db,
                    "tests(run_id, classname, name, status, duration_ms)",
                    run.tests.iter().map(|t| {
                        vec![
                            Value::Int(id),
                            (&t.classname).into(),
                            (&t.name).into(),
                            (&t.status).into(),
                            t.duration_ms.into(),
                        ]
                    }),
                )?;
                ids.push(id);
            }
            Ok(ids)
        })
    }

    /// Keeps the newest `keep` runs of every series (repository, step, environment, target) and deletes
    /// the rest with their metrics and tests; returns how many runs went.
    pub fn prune(&mut self, keep: u64) -> Result<u64, HistoryError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.write("apply --keep-runs", Some(RETENTION_LOCK), |db| {
            let doomed = "SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY repository, step, environment, target ORDER BY id DESC) AS n FROM runs) ranked WHERE n > ?";
            db.execute(&format!("DELETE FROM metrics WHERE run_id IN ({doomed})"), &[Value::Int(keep)])?;
            db.execute(&format!("DELETE FROM tests WHERE run_id IN ({doomed})"), &[Value::Int(keep)])?;
            db.execute(&format!("DELETE FROM runs WHERE id IN ({doomed})"), &[Value::Int(keep)])
        })
    }

    /// How many rows each table holds.
    pub fn counts(&mut self) -> Result<Counts, HistoryError> {
        let rows = self
            .db
            .query(
                "SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM metrics), (SELECT COUNT(*) FROM tests)",
                &[],
            )
            .map_err(self.err("count the runs"))?;
        let row = rows.into_iter().next().unwrap_or_default();
        let at = |i: usize| row.get(i).map_or(0, Value::int);
        Ok(Counts { runs: at(0), metrics: at(1), tests: at(2) })
    }

    /// The series that have runs matching `filter`.
    pub fn series(&mut self, filter: &Filter) -> Result<Vec<Series>, HistoryError> {
        let (conditions, params) = filter.sql();
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT DISTINCT repository, step, environment, target FROM runs WHERE 1 = 1{conditions} ORDER BY step, repository, environment, target"
                ),
                &params,
            )
            .map_err(self.err("read the series"))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut it = row.into_iter().map(Value::text);
                Series {
                    repository: it.next().unwrap_or_default(),
                    step: it.next().unwrap_or_default(),
                    environment: it.next().unwrap_or_default(),
                    target: it.next().unwrap_or_default(),
                }
            })
            .collect())
    }

    /// The newest `limit` runs of `series` matching `filter`, newest first; only those recorded before
    /// run `before`, and only those of another version than `other_version`, when given.
    pub fn runs(
        &mut self,
        series: &Series,
        filter: &Filter,
        limit: u64,
        before: Option<i64>,
        other_version: Option<&str>,
    ) -> Result<Vec<StoredRun>, HistoryError> {
        let (conditions, mut params) = filter.sql();
        let mut sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs WHERE repository = ? AND step = ? AND environment = ? AND target = ?{conditions}"
        );
        let mut all: Vec<Value> = vec![
            (&series.repository).into(),
            (&series.step).into(),
            (&series.environment).into(),
            (&series.target).into(),
        ];
        all.append(&mut params);
        if let Some(before) = before {
            sql.push_str(" AND id < ?");
            all.push(Value::Int(before));
        }
        if let Some(version) = other_version {
            sql.push_str(" AND version <> ?");
            all.push(version.into());
        }
        sql.push_str(" ORDER BY id DESC LIMIT ?");
        all.push(Value::Int(i64::try_from(limit).unwrap_or(i64::MAX)));
        let rows = self.db.query(&sql, &all).map_err(self.err("read the runs"))?;
        Ok(rows.into_iter().map(stored_run).collect())
    }

    /// The metrics of these runs, by run id.
    pub fn metrics(&mut self, ids: &[i64]) -> Result<BTreeMap<i64, Vec<Metric>>, HistoryError> {
        let mut out: BTreeMap<i64, Vec<Metric>> = BTreeMap::new();
        for chunk in ids.chunks(ROWS_PER_INSERT) {
            let rows = self
                .db
                .query(
                    &format!(
                        "SELECT run_id, subject, name, value FROM metrics WHERE run_id IN ({}) ORDER BY run_id, subject, name",
                        placeholders(chunk.len())
                    ),
                    &chunk.iter().map(|&id| Value::Int(id)).collect::<Vec<_>>(),
                )
                .map_err(self.err("read the metrics"))?;
            for row in rows {
                let mut it = row.into_iter();
                let id = it.next().map_or(0, |v| v.int());
                let subject = it.next().map(Value::text).unwrap_or_default();
                let name = it.next().map(Value::text).unwrap_or_default();
                let value = it.next().and_then(|v| v.real()).unwrap_or(f64::NAN);
                out.entry(id).or_default().push(Metric { subject, name, value });
            }
        }
        Ok(out)
    }

    /// How many of these runs have per-test results.
    pub fn test_runs(&mut self, ids: &[i64]) -> Result<usize, HistoryError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT COUNT(DISTINCT run_id) FROM tests WHERE run_id IN ({})",
                    placeholders(ids.len())
                ),
                &ids.iter().map(|&id| Value::Int(id)).collect::<Vec<_>>(),
            )
            .map_err(self.err("read the tests"))?;
        Ok(rows.first().and_then(|r| r.first()).map_or(0, Value::int) as usize)
    }

    /// Per test over these runs: how often it passed, failed (or errored), was flaky or skipped, and its
    /// mean and latest duration; only tests that ran in at least one of them.
    pub fn test_stats(&mut self, ids: &[i64]) -> Result<Vec<TestStats>, HistoryError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let newest = ids.iter().copied().max().unwrap_or_default();
        let mut params: Vec<Value> = vec![Value::Int(newest), Value::Int(newest)];
        params.extend(ids.iter().map(|&id| Value::Int(id)));
        let rows = self
            .db
            .query(
                &format!(
                    "SELECT classname, name,
                       SUM(CASE WHEN status = 'passed' THEN 1 ELSE 0 END),
                       SUM(CASE WHEN status IN ('failed', 'error') THEN 1 ELSE 0 END),
                       SUM(CASE WHEN status = 'flaky' THEN 1 ELSE 0 END),
                       SUM(CASE WHEN status = 'skipped' THEN 1 ELSE 0 END),
                       AVG(duration_ms),
                       MAX(CASE WHEN run_id = ? THEN duration_ms END),
                       MAX(CASE WHEN run_id = ? THEN status END)
                     FROM tests WHERE run_id IN ({}) GROUP BY classname, name",
                    placeholders(ids.len())
                ),
                &params,
            )
            .map_err(self.err("read the tests"))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut it = row.into_iter();
                let mut next = || it.next().unwrap_or(Value::Null);
                TestStats {
                    classname: next().text(),
                    name: next().text(),
                    passed: next().int(),
                    failed: next().int(),
                    flaky: next().int(),
                    skipped: next().int(),
                    mean_ms: next().real().map(round3),
                    latest_ms: next().real().map(round3),
                    latest_status: match next() {
                        Value::Null => None,
                        v => Some(v.text()),
                    },
                }
            })
            .collect())
    }
}

pub(crate) fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn stored_run(row: Row) -> StoredRun {
    let mut it = row.into_iter();
    let mut next = || it.next().unwrap_or(Value::Null);
    let id = next().int();
    let recorded_ms = next().int();
    let recorded_at = chrono::DateTime::from_timestamp_millis(recorded_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    let key = RunKey {
        repository: next().text(),
        branch: next().text(),
        commit: next().text(),
        ci_run: next().text(),
        step: next().text(),
        environment: next().text(),
        target: next().text(),
        version: next().text(),
    };
    StoredRun {
        id,
        recorded_at,
        key,
        verdict: next().text(),
        exit_code: next().int(),
        headline: next().text(),
        source: next().text(),
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Inserts rows of equal width in multi-row INSERTs of `ROWS_PER_INSERT`.
fn insert_rows(
    db: &mut dyn Backend,
    table: &str,
    rows: impl Iterator<Item = Vec<Value>>,
) -> Result<(), String> {
    let mut pending: Vec<Vec<Value>> = Vec::new();
    let mut flush = |pending: &mut Vec<Vec<Value>>| -> Result<(), String> {
        if pending.is_empty() {
            return Ok(());
        }
        let one = format!("({})", placeholders(pending[0].len()));
        let sql = format!("INSERT INTO {table} VALUES {}", vec![one.as_str(); pending.len()].join(", "));
        let params: Vec<Value> = pending.drain(..).flatten().collect();
        db.execute(&sql, &params).map(drop)
    };
    for row in rows {
        pending.push(row);
        if pending.len() == ROWS_PER_INSERT {
            flush(&mut pending)?;
        }
    }
    flush(&mut pending)
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
