//! The `ordersctl` binary: parses the command line, runs the command from `lib.rs`, and turns the outcome
//! into an exit status (0 all good, 1 differences or tampering found, 2 the command itself failed).

use std::process::ExitCode;

use clap::Parser;
use ordersctl::{init_logging, run, Cli, Outcome};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli).await.map_err(anyhow::Error::new) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::ProblemsFound) => ExitCode::from(1),
        Err(error) => {
            eprintln!("{} {error:#}", console::style("error:").red().bold().for_stderr());
            ExitCode::from(2)
        }
    }
}
