//! `stepkit hook serve`: open the store, put interrupted jobs back in the queue, listen, start one
//! worker per target, stream the log, and on SIGTERM/SIGINT stop listening, let running jobs finish
//! within the grace period, then stop them.

use super::server::{self, App, QueuePolicy};
use super::store::Store;
use super::worker::{self, Runner, TargetPolicy};
use super::writer::StoreHandle;
use super::{store_path, HookError, ServeSettings, TlsFiles};
use crate::report::{Live, Outcome, Verdict};
use crate::result::hook::{ServeData, SCHEMA_VERSION};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::{mpsc, watch, Notify};

fn tls_acceptor(files: &TlsFiles) -> Result<tokio_rustls::TlsAcceptor, HookError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let cert_error =
        |message: String| HookError::Tls { what: "certificate", path: files.cert.clone(), message };
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| cert_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(cert_error("no CERTIFICATE block in it".into()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| HookError::Tls {
        what: "private key",
        path: files.key.clone(),
        message: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| cert_error(e.to_string()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// Serves until SIGTERM or SIGINT; the outcome counts what the store saw.
pub async fn serve(settings: &ServeSettings, live: &mut dyn Live) -> Result<Outcome, HookError> {
    let tls = settings.tls.as_ref().map(tls_acceptor).transpose()?;
    let path = store_path(&settings.state_dir);
    let store = Store::open(&path)?;
    let requeued = store.requeue_running()?;
    let store = StoreHandle::start(store)?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| HookError::Listen { addr: settings.listen, source })?;
    let bound = listener.local_addr().map_err(HookError::Runtime)?;
    // Signals are taken before the first line: a supervisor that reads "listening" may stop us at once.
    let mut signals = crate::signals::Signals::install();

    let (log, mut lines) = mpsc::unbounded_channel();
    let (shutdown_tx, shutdown) = watch::channel(false);
    let (hard_stop_tx, hard_stop) = watch::channel(false);
    let runner = Arc::new(Runner {
        store: store.clone(),
        exe: settings.exe.clone(),
        state_dir: settings.state_dir.clone(),
        env_remove: settings.secret_env.iter().cloned().collect(),
        log: log.clone(),
    });
    let mut wake = BTreeMap::new();
    let mut workers = tokio::task::JoinSet::new();
    let mut targets: Vec<&String> = settings.rules.iter().map(|r| &r.target).collect();
    targets.sort();
    targets.dedup();
    for target in targets {
        let notify = Arc::new(Notify::new());
        wake.insert(target.clone(), notify.clone());
        let quiet = settings.targets.get(target).map(|t| t.quiet).unwrap_or_default();
        workers.spawn(worker::run_target(
            runner.clone(),
            target.clone(),
            TargetPolicy { quiet },
            notify,
            shutdown.clone(),
            hard_stop.clone(),
        ));
    }
    let queues: BTreeMap<String, QueuePolicy> =
        settings.targets.iter().map(|(name, t)| (name.clone(), t.queue.clone())).collect();
    let app = Arc::new(App {
        secret: settings.secret.clone(),
        rules: settings.rules.clone(),
        queues,
        store: store.clone(),
        wake,
        limits: settings.limits,
        log: log.clone(),
    });
    drop(log);
    let scheme = if tls.is_some() { "https" } else { "http" };
    live.line(&format!(
        "hook: listening on {scheme}://{bound}/hook ({} rules, store {}){}",
        settings.rules.len(),
        path.display(),
        if requeued > 0 { format!("; {requeued} interrupted jobs queued again") } else { String::new() }
    ));
    if !bound.ip().is_loopback() && tls.is_none() {
        live.line("hook: warning: listening beyond loopback without TLS; put a TLS proxy in front or give --tls-cert/--tls-key");
    }
    let accept = tokio::spawn(server::accept_loop(
        listener,
        server::router(app),
        tls,
        settings.limits,
        shutdown.clone(),
    ));

    let signal_name = loop {
        tokio::select! {
            Some(line) = lines.recv() => live.line(&line),
            signal = signals.recv() => break signal.name(),
        }
    };
    let _ = shutdown_tx.send(true);
    let _ = accept.await;
    live.line(&format!(
        "hook: {signal_name}: no longer listening; running jobs get {:?} to finish",
        settings.grace
    ));
    let grace = tokio::time::sleep(settings.grace);
    tokio::pin!(grace);
    let mut stopped = false;
    loop {
        tokio::select! {
            Some(line) = lines.recv() => live.line(&line),
            joined = workers.join_next() => if joined.is_none() { break },
            _ = &mut grace, if !stopped => {
                stopped = true;
                live.line("hook: grace period over: stopping the running jobs (they are queued again)");
                let _ = hard_stop_tx.send(true);
            }
        }
    }
    while let Ok(line) = lines.try_recv() {
        live.line(&line);
    }
    let counts = store.call(|s| s.counts()).await?;
    let summary: Vec<String> = counts.iter().map(|(what, n)| format!("{what}: {n}")).collect();
    let mut outcome = Outcome::new(
        "hook serve",
        Verdict::Passed,
        format!(
            "stopped by {signal_name}{}",
            if stopped { " (running jobs stopped and queued again)" } else { "" }
        ),
    );
    outcome.text = summary.join("\n");
    outcome.set_data(&ServeData {
        schema_version: SCHEMA_VERSION,
        listen: bound.to_string(),
        store: path,
        counts: counts.into_iter().collect(),
    });
    Ok(outcome)
}
