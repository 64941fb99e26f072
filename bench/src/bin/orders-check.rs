//! `orders-check`: after a load run, checks the event store, the views and the search index against the
//! run's journals; exits with status 1 when any check fails.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = bench::CheckSettings::parse();
    let outcomes = bench::run_checks(settings).await?;
    for outcome in &outcomes {
        println!("[{}] {}: {}", if outcome.passed { "pass" } else { "FAIL" }, outcome.name, outcome.detail);
    }
    let failed = outcomes.iter().filter(|outcome| !outcome.passed).count();
    println!("orders-check: {} passed, {failed} failed", outcomes.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
