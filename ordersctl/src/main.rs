//! The `ordersctl` binary: parses the command line, runs the command from `lib.rs`, and turns the outcome
//! into an exit status (0 all good, 1 differences or tampering found, 2 the command itself failed).

use std::process::ExitCode;

use clap::Parser;
use ordersctl::{init_logging, run, Cli, Error, Outcome};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli).await {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::ProblemsFound) => ExitCode::from(1),
        // The reader of a pipe (`| head`) stopped reading: it has what it wanted.
        Err(Error::Io(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            let error = anyhow::Error::new(error);
            eprintln!("{} {error:#}", console::style("error:").red().bold().for_stderr());
            ExitCode::from(2)
        }
    }
}
