//! The `command-api` binary: read settings, start logging, serve until SIGTERM.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = command_api::Settings::parse();
    command_api::init_tracing(settings.log_format, &settings.log_filter)?;
    command_api::run(settings).await
}
