//! The shared store: a PostgreSQL database by URL, through the `postgres` crate (the blocking front of
//! tokio-postgres: the store trait is synchronous, like rusqlite, and runs outside any step's runtime).
//! TLS when the URL asks for it (`sslmode=require`; `prefer`, the default, uses it when the server offers
//! it), on rustls with the system's roots.

use super::store::{Backend, Dialect, Row, Value};
use super::PgLocation;
use bytes::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::Client;
use std::time::Duration;

/// Connecting gives up after this unless the URL sets `connect_timeout`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection to the database.
pub struct Postgres {
    client: Client,
    /// The password, to take out of any error text (the driver's messages should not carry it; be sure).
    password: Option<String>,
}

impl Postgres {
    /// Connects to the database `location` names.
    pub fn connect(location: &PgLocation) -> Result<Postgres, String> {
        let mut config = location.config.clone();
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("stepkit history");
        let password = config.get_password().map(|p| String::from_utf8_lossy(p).into_owned());
        let redact = |e: postgres::Error| redact(&error_text(&e), password.as_deref());
        let client = match config.get_ssl_mode() {
            postgres::config::SslMode::Disable => config.connect(postgres::NoTls).map_err(redact)?,
            _ => {
                crate::tls::install_crypto_provider();
                use rustls_platform_verifier::ConfigVerifierExt;
                let tls = rustls::ClientConfig::with_platform_verifier()
                    .map_err(|e| format!("set up TLS with the system's certificates: {e}"))?;
                config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls)).map_err(redact)?
            }
        };
        Ok(Postgres { client, password })
    }

    fn fail(&self, e: postgres::Error) -> String {
        redact(&error_text(&e), self.password.as_deref())
    }
}

/// The driver's error with its cause (`db error: ERROR: ...`, `error connecting to server: Connection refused`).
fn error_text(e: &postgres::Error) -> String {
    let mut text = e.to_string();
    if let Some(db) = e.as_db_error() {
        text = format!("{} ({})", db.message(), db.code().code());
    } else if let Some(source) = std::error::Error::source(e) {
        let source = source.to_string();
        if !text.contains(&source) {
            text = format!("{text}: {source}");
        }
    }
    text
}

fn redact(text: &str, password: Option<&str>) -> String {
    match password.filter(|p| !p.is_empty()) {
        Some(p) => text.replace(p, "***"),
        None => text.to_string(),
    }
}

/// `?` placeholders as PostgreSQL's `$1, $2, ...` (the store's statements have no `?` in literals).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}

/// A bound value: whatever type the statement wants for the parameter, converted (an id bound where an
/// int4 is expected, a NULL anywhere).
#[derive(Debug)]
struct Param<'a>(&'a Value);

impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            Value::Int(i) if *ty == Type::FLOAT8 => (*i as f64).to_sql(ty, out),
            Value::Int(i) if *ty == Type::TEXT || *ty == Type::VARCHAR => i.to_string().to_sql(ty, out),
            Value::Int(i) => i.to_sql(ty, out),
            Value::Real(f) if *ty == Type::FLOAT4 => (*f as f32).to_sql(ty, out),
            Value::Real(f) => f.to_sql(ty, out),
            Value::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn read(row: &postgres::Row, i: usize) -> Result<Value, postgres::Error> {
    let ty = row.columns()[i].type_();
    Ok(if *ty == Type::INT8 {
        row.try_get::<_, Option<i64>>(i)?.map_or(Value::Null, Value::Int)
    } else if *ty == Type::INT4 {
        row.try_get::<_, Option<i32>>(i)?.map_or(Value::Null, |v| Value::Int(v.into()))
    } else if *ty == Type::INT2 {
        row.try_get::<_, Option<i16>>(i)?.map_or(Value::Null, |v| Value::Int(v.into()))
    } else if *ty == Type::FLOAT8 {
        row.try_get::<_, Option<f64>>(i)?.map_or(Value::Null, Value::Real)
    } else if *ty == Type::FLOAT4 {
        row.try_get::<_, Option<f32>>(i)?.map_or(Value::Null, |v| Value::Real(v.into()))
    } else {
        row.try_get::<_, Option<String>>(i)?.map_or(Value::Null, Value::Text)
    })
}

impl Backend for Postgres {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn begin(&mut self, lock: Option<i64>) -> Result<(), String> {
        self.client.batch_execute("BEGIN").map_err(|e| self.fail(e))?;
        if let Some(key) = lock {
            // Held until COMMIT/ROLLBACK: migrations and retention run one at a time across all jobs.
            if let Err(e) = self.client.execute("SELECT pg_advisory_xact_lock($1)", &[&key]) {
                self.rollback();
                return Err(self.fail(e));
            }
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), String> {
        self.client.batch_execute("COMMIT").map_err(|e| self.fail(e))
    }

    fn rollback(&mut self) {
        let _ = self.client.batch_execute("ROLLBACK");
    }

    fn batch(&mut self, sql: &str) -> Result<(), String> {
        self.client.batch_execute(sql).map_err(|e| self.fail(e))
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, String> {
        let bound: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        self.client.execute(numbered(sql).as_str(), &refs).map_err(|e| self.fail(e))
    }

    fn insert(&mut self, sql: &str, params: &[Value]) -> Result<i64, String> {
        let rows = self.query(&format!("{sql} RETURNING id"), params)?;
        match rows.first().and_then(|r| r.first()) {
            Some(Value::Int(id)) => Ok(*id),
            _ => Err("the insert returned no id".into()),
        }
    }

    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, String> {
        let bound: Vec<Param> = params.iter().map(Param).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let rows = self.client.query(numbered(sql).as_str(), &refs).map_err(|e| self.fail(e))?;
        rows.iter()
            .map(|row| (0..row.len()).map(|i| read(row, i)).collect::<Result<Row, _>>())
            .collect::<Result<Vec<Row>, _>>()
            .map_err(|e| self.fail(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered("SELECT ? WHERE a = ? AND b IN (?, ?)"),
            "SELECT $1 WHERE a = $2 AND b IN ($3, $4)"
        );
    }

    #[test]
    fn the_password_is_taken_out_of_errors() {
        assert_eq!(redact("password p4ss rejected", Some("p4ss")), "password *** rejected");
        assert_eq!(redact("no password", Some("")), "no password");
    }
}
