//! SIGINT and SIGTERM (a terminal's Ctrl-C, GitHub's cancel, Jenkins' abort) for every step that
//! stops cleanly: one kind of listener, and the verdict (130, 143) each leads to.

use crate::report::Verdict;

/// SIGINT or SIGTERM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Int,
    Term,
}

impl Signal {
    /// The verdict (and so the exit code: 130, 143) it leads to.
    pub fn verdict(self) -> Verdict {
        match self {
            Signal::Int => Verdict::Interrupted,
            Signal::Term => Verdict::Terminated,
        }
    }

    /// The signal's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        }
    }

    /// The signal's number (what `kill -l` calls it).
    pub fn number(self) -> i32 {
        match self {
            Signal::Int => libc::SIGINT,
            Signal::Term => libc::SIGTERM,
        }
    }
}

/// The handlers: from `install` on, SIGINT and SIGTERM no longer end the process; they arrive here,
/// and the step stops its work cleanly (children by process group, containers back, partial reports).
pub struct Signals {
    int: Option<tokio::signal::unix::Signal>,
    term: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Installs the handlers. Must be called inside a tokio runtime.
    pub fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        Signals { int: signal(SignalKind::interrupt()).ok(), term: signal(SignalKind::terminate()).ok() }
    }

    /// A signal that already arrived, if any (without waiting).
    pub fn pending(&mut self) -> Option<Signal> {
        use futures_util::FutureExt;
        self.recv().now_or_never()
    }

    /// The next signal (never, when the handlers could not be installed).
    pub async fn recv(&mut self) -> Signal {
        async fn next(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = next(&mut self.int) => Signal::Int,
            _ = next(&mut self.term) => Signal::Term,
        }
    }
}
