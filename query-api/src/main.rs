//! The `query-api` binary: read settings, start logging, serve until SIGTERM.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = query_api::Settings::parse();
    query_api::init_tracing(settings.log_format, &settings.log_filter)?;
    query_api::run(settings).await
}
