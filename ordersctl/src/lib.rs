//! `ordersctl`, the operator CLI of the order system: projection status, zero-downtime rebuilds and their
//! verification, dead-letter retries, the audit trail of one order, export and import of the whole log,
//! hash-chain checks, seeding and the rebuild benchmark.
//!
//! Every command is a function of this library so tests can drive it without a process; the binary only
//! parses the command line and maps [`Outcome`] to an exit status. The heavy lifting of rebuilds lives in the
//! `projections` crate (the projector service uses the same functions); this crate adds the operator's side:
//! locking against concurrent maintenance, progress, clean-up of leftovers, comparison and reporting.

mod bench;
mod cli;
mod context;
mod error;
mod export;
mod import;
mod output;
mod progress;
mod rebuild;
mod replay;
mod retry;
mod search_scan;
mod seed;
mod status;
mod verify_log;
mod verify_view;

pub use cli::Cli;
pub use error::Error;
pub use export::ExportedEvent;
pub use seed::seed_orders;
pub use seed::SeedOptions;
pub use seed::SeedReport;
pub use verify_view::table_checksums;
pub use verify_view::TableChecksum;

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done, nothing to report.
    Clean,
    /// Done, and it found differences, tampering or parked orders that stay parked (exit status 1).
    ProblemsFound,
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<Outcome, Error> {
    cli::dispatch(cli).await
}

/// Logs to standard error, quiet unless `RUST_LOG` asks for more (the commands print their own progress).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
