//! The `projections` binary: reads its settings, starts logging and runs the projectors until Ctrl-C or SIGTERM.

use anyhow::Context;
use clap::Parser;
use projections::{init_telemetry, run_projections_service, ProjectionsSettings};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = ProjectionsSettings::parse();
    init_telemetry(settings.log_format, &settings.log_filter).context("starting logging")?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    run_projections_service(settings, shutdown).await.context("running the projections")
}

async fn cancel_on_signal(shutdown: CancellationToken) {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler can be installed");
    #[cfg(unix)]
    tokio::select! { _ = interrupt => {}, _ = terminate.recv() => {} }
    #[cfg(not(unix))]
    let _ = interrupt.await;
    shutdown.cancel();
}
