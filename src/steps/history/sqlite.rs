//! The default store: one SQLite file (rusqlite, bundled), in WAL mode with a busy timeout, so several
//! jobs on one machine can record at once: writers queue for the lock instead of failing.

use super::store::{Backend, Dialect, Row, Value};
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::path::Path;
use std::time::Duration;

/// How long a writer waits for another one before giving up. A record is one short transaction, so
/// this only runs out when something holds the file for minutes (a stuck process, a network share).
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection to the store's file.
pub struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    /// Opens (creating, with its directory) the file at `path`.
    pub fn open(path: &Path) -> Result<Sqlite, String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("create its directory {}: {e}", dir.display()))?;
        }
        let conn = Connection::open(path).map_err(|e| e.to_string())?;
        // The timeout first: switching to WAL takes a lock another opener may hold at that moment.
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| e.to_string())?;
        let mode: String =
            conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0)).map_err(|e| e.to_string())?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(format!(
                "SQLite could not switch it to WAL mode (it stays in `{mode}` mode); keep the file on a local disk"
            ));
        }
        // NORMAL in WAL mode survives a process crash, which is what a CI job's end is.
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| e.to_string())?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| e.to_string())?;
        Ok(Sqlite { conn })
    }
}

fn bind(params: &[Value]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|v| match v {
            Value::Null => rusqlite::types::Value::Null,
            Value::Int(i) => rusqlite::types::Value::Integer(*i),
            Value::Real(f) => rusqlite::types::Value::Real(*f),
            Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
        })
        .collect()
}

impl Backend for Sqlite {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn begin(&mut self, _lock: Option<i64>) -> Result<(), String> {
        // IMMEDIATE takes the write lock now, waiting through the busy timeout; a deferred transaction
        // that reads and then writes can fail at once with SQLITE_BUSY, whatever the timeout.
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| e.to_string())
    }

    fn commit(&mut self) -> Result<(), String> {
        self.conn.execute_batch("COMMIT").map_err(|e| e.to_string())
    }

    fn rollback(&mut self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    fn batch(&mut self, sql: &str) -> Result<(), String> {
        self.conn.execute_batch(sql).map_err(|e| e.to_string())
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, String> {
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| e.to_string())?;
        statement
            .execute(rusqlite::params_from_iter(bind(params)))
            .map(|n| n as u64)
            .map_err(|e| e.to_string())
    }

    fn insert(&mut self, sql: &str, params: &[Value]) -> Result<i64, String> {
        self.execute(sql, params)?;
        Ok(self.conn.last_insert_rowid())
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, String> {
        let mut statement = self.conn.prepare_cached(sql).map_err(|e| e.to_string())?;
        let width = statement.column_count();
        let rows = statement
            .query_map(rusqlite::params_from_iter(bind(params)), |row| {
                (0..width)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            ValueRef::Null => Value::Null,
                            ValueRef::Integer(i) => Value::Int(i),
                            ValueRef::Real(f) => Value::Real(f),
                            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                            ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
                        })
                    })
                    .collect::<Result<Row, rusqlite::Error>>()
            })
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<Row>, _>>().map_err(|e| e.to_string())
    }
}
