//! `orders-load`: plays realistic order flows against the running system, then prints the summary and
//! writes `report.json` plus the journals of accepted and refused commands into `--out-dir`.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let settings = bench::LoadSettings::parse();
    let report = bench::run_load(settings).await?;
    print!("{}", report.summary());
    Ok(())
}
