//! The workers: one task per connection, started together on one single-threaded runtime per core. In
//! the closed model each sends its next request when the last one answered; in the open model each takes
//! the next due slot of a fixed schedule, and latency runs from the slot's due time, so a stall delays
//! (and shows in) every request that was due during it (coordinated omission corrected, as wrk2 does).

use super::client::{Connections, Plan};
use super::stats::Stats;
use super::{LoadSettings, Model, Stop};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What the run measured (warm-up excluded).
pub(super) struct Measured {
    /// Per request of the settings, in their order.
    pub per_request: Vec<Stats>,
    pub total: Stats,
    /// From the end of the warm-up to the last measured answer.
    pub elapsed: Duration,
    pub connections_opened: u64,
}

/// The one line printed when the load starts.
pub(super) fn describe(settings: &LoadSettings) -> String {
    let model = match settings.model {
        Model::Closed => format!("closed model, {} connections", settings.connections),
        Model::Open { rate } => {
            format!("open model, {rate} requests/s over up to {} connections", settings.connections)
        }
    };
    let stop = match settings.stop {
        Stop::After(d) => format!("for {}", humantime::format_duration(d)),
        Stop::Requests(n) => format!("of {n} requests"),
    };
    let warmup = if settings.warmup.is_zero() {
        String::new()
    } else {
        format!(" after a {} warm-up", humantime::format_duration(settings.warmup))
    };
    let target = settings.target.as_deref().map(|t| format!(", target {t}")).unwrap_or_default();
    let n = settings.requests.len();
    format!("load {stop}{warmup}: {model}, {n} request{}{target}", if n == 1 { "" } else { "s in turn" })
}

struct Shared {
    plan: Plan,
    model: Model,
    stop: Stop,
    timeout: Duration,
    start: Instant,
    measure_start: Instant,
    /// Open model: the next slot of the schedule. Closed model: the next measured request.
    next: AtomicU64,
}

struct WorkerResult {
    stats: Vec<Stats>,
    last: Option<Instant>,
    opened: u64,
}

/// Runs the load to its end, or until `stop` turns true (SIGINT/SIGTERM: requests in flight are dropped,
/// uncounted), and merges what the workers counted.
pub(super) async fn run(settings: &LoadSettings, plan: Plan, stop: watch::Receiver<bool>) -> Measured {
    let start = Instant::now();
    let shared = Arc::new(Shared {
        plan,
        model: settings.model,
        stop: settings.stop,
        timeout: settings.timeout,
        start,
        measure_start: start + settings.warmup,
        next: AtomicU64::new(0),
    });
    let threads = threads_for(settings.connections);
    let (done, mut results) = tokio::sync::mpsc::unbounded_channel();
    for thread in 0..threads {
        // Workers thread, thread + threads, ...: an even share each.
        let ids: Vec<usize> = (thread..settings.connections).step_by(threads).collect();
        let (shared, stop, done) = (Arc::clone(&shared), stop.clone(), done.clone());
        std::thread::Builder::new()
            .name(format!("stepkit-load-{thread}"))
            .spawn(move || run_thread(shared, ids, stop, done))
            .expect("start a load thread");
    }
    // Every thread holds a clone: the channel closes when the last one is done.
    drop(done);
    let mut per_request = vec![Stats::new(); settings.requests.len()];
    let mut last = None;
    let mut connections_opened = 0;
    while let Some(result) = results.recv().await {
        for (into, from) in per_request.iter_mut().zip(&result.stats) {
            into.merge(from);
        }
        last = last.max(result.last);
        connections_opened += result.opened;
    }
    let mut total = Stats::new();
    for stats in &per_request {
        total.merge(stats);
    }
    let end = last.unwrap_or_else(Instant::now);
    Measured {
        per_request,
        total,
        elapsed: end.saturating_duration_since(shared.measure_start),
        connections_opened,
    }
}

/// One thread per core, never more than there are connections. A single-threaded runtime per thread
/// keeps a worker, its connection and its timer on one core: on a shared work-stealing runtime
/// every answer woke a task on the other core (measured: about a fifth fewer requests/s than wrk).
fn threads_for(connections: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(connections).max(1)
}

/// Runs the workers `ids` to their end on this thread's own runtime and sends each one's counts.
fn run_thread(
    shared: Arc<Shared>,
    ids: Vec<usize>,
    stop: watch::Receiver<bool>,
    done: tokio::sync::mpsc::UnboundedSender<WorkerResult>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        // Without a runtime these workers cannot run; the others still report.
        Err(_) => return,
    };
    runtime.block_on(async {
        let workers: Vec<_> =
            ids.into_iter().map(|id| tokio::spawn(worker(Arc::clone(&shared), id, stop.clone()))).collect();
        for handle in workers {
            // A worker only panics on a bug; its counts are lost, the others still report.
            if let Ok(result) = handle.await {
                let _ = done.send(result);
            }
        }
    });
}

/// The next request a worker sends: which one, the time its latency runs from, whether it is measured.
struct Turn {
    index: usize,
    from: Option<Instant>,
    measured: bool,
}

async fn worker(shared: Arc<Shared>, id: usize, mut stop: watch::Receiver<bool>) -> WorkerResult {
    let count = shared.plan.requests.len();
    let mut connections = Connections::new(shared.plan.origins.len());
    let mut stats = vec![Stats::new(); count];
    let mut last = None;
    let mut warm_turn = id;
    // One stop future for the worker's life, polled by every request: made anew per request, it would
    // join and leave the watch channel's waiter list (a lock all workers share) twice per request.
    let mut stop = std::pin::pin!(stopped(&mut stop));
    loop {
        let turn = match shared.model {
            Model::Closed => closed_turn(&shared, &mut warm_turn),
            Model::Open { rate } => tokio::select! {
                biased;
                () = &mut stop => None,
                turn = open_turn(&shared, rate) => turn,
            },
        };
        let Some(turn) = turn else { break };
        let from = turn.from.unwrap_or_else(Instant::now);
        let answer = tokio::select! {
            // Biased: the stop is checked first, and no random pick is drawn per request.
            biased;
            () = &mut stop => break,
            answer = connections.send(&shared.plan, turn.index, shared.timeout) => answer,
        };
        if turn.measured {
            let end = Instant::now();
            stats[turn.index].record(answer, end.saturating_duration_since(from));
            last = last.max(Some(end));
        }
    }
    WorkerResult { stats, last, opened: connections.opened }
}

/// Returns once the run is asked to stop; never, if nobody can ask any more.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn closed_turn(shared: &Shared, warm_turn: &mut usize) -> Option<Turn> {
    let count = shared.plan.requests.len();
    let now = Instant::now();
    if now < shared.measure_start {
        *warm_turn += 1;
        return Some(Turn { index: *warm_turn % count, from: None, measured: false });
    }
    if let Stop::After(duration) = shared.stop {
        if now >= shared.measure_start + duration {
            return None;
        }
    }
    let ticket = shared.next.fetch_add(1, Ordering::Relaxed);
    if matches!(shared.stop, Stop::Requests(n) if ticket >= n) {
        return None;
    }
    Some(Turn { index: (ticket % count as u64) as usize, from: None, measured: true })
}

async fn open_turn(shared: &Shared, rate: f64) -> Option<Turn> {
    let warmup = shared.measure_start.duration_since(shared.start);
    let warmup_slots = (warmup.as_secs_f64() * rate).ceil() as u64;
    let end_slot = match shared.stop {
        Stop::After(duration) => ((warmup + duration).as_secs_f64() * rate).ceil() as u64,
        Stop::Requests(n) => warmup_slots + n,
    };
    let slot = shared.next.fetch_add(1, Ordering::Relaxed);
    if slot >= end_slot {
        return None;
    }
    let due = shared.start + Duration::from_secs_f64(slot as f64 / rate);
    let from = if due > Instant::now() {
        // An idle worker waits for the slot. The timer wakes it up to a millisecond late; that delay is
        // the client's own, so its latency runs from the wake-up (oha's schedule counts from its own
        // wake-up likewise).
        tokio::time::sleep_until(due).await;
        Instant::now()
    } else {
        // Every worker was busy when the slot came due: the wait is part of the latency a user would see.
        due
    };
    let count = shared.plan.requests.len() as u64;
    Some(Turn { index: (slot % count) as usize, from: Some(from), measured: slot >= warmup_slots })
}
