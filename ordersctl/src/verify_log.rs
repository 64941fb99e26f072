//! `verify-log`: the event store's tamper check (`EventStore::verify`) over all streams or one: versions
//! 1, 2, 3, ... without holes, every row equal to the canonical envelope it hashed, and every hash chained
//! to the previous one. The first broken event of each stream is reported; any finding exits with status 1.
//!
//! Not detectable from inside the database: the newest events of a stream deleted with nothing after them.

use event_store::{VerifyFailureKind, VerifyReport};

use crate::cli::VerifyLogArgs;
use crate::context::Context;
use crate::error::Error;
use crate::output::{count, Align, Output, Table};
use crate::Outcome;

pub(crate) async fn run(context: &Context, output: &Output, args: &VerifyLogArgs) -> Result<Outcome, Error> {
    let report = match context.store.verify(args.stream).await {
        Ok(report) => report,
        Err(event_store::ReadError::StreamNotFound { stream_id }) => return Err(Error::OrderNotFound(stream_id)),
        Err(error) => return Err(error.into()),
    };
    if output.is_json() {
        output.print_json(&report)?;
    } else {
        print_report(output, &report);
    }
    Ok(if report.is_intact() { Outcome::Clean } else { Outcome::ProblemsFound })
}

/// What is wrong with an event, in words.
fn describe(kind: &VerifyFailureKind) -> String {
    match kind {
        VerifyFailureKind::VersionSequence { expected, found } if found > expected => {
            format!("missing event: expected version {expected}, found {found}")
        }
        VerifyFailureKind::VersionSequence { expected, found } => {
            format!("version out of sequence: expected {expected}, found {found}")
        }
        VerifyFailureKind::EnvelopeMismatch => "tampered: the row no longer matches the envelope it hashed".to_owned(),
        VerifyFailureKind::HashMismatch => "tampered: the hash does not chain to the previous event".to_owned(),
    }
}

pub(crate) fn print_report(output: &Output, report: &VerifyReport) {
    if report.is_intact() {
        output.line(format!(
            "{} hash chains intact: {} events in {} streams checked",
            output.good("✓"),
            count(report.events_checked),
            count(report.streams_checked)
        ));
        return;
    }
    let mut table = Table::new(&[
        ("STREAM", Align::Left),
        ("VERSION", Align::Right),
        ("POSITION", Align::Right),
        ("EVENT ID", Align::Left),
        ("PROBLEM", Align::Left),
    ]);
    for failure in &report.failures {
        table.push(vec![
            failure.stream_id.to_string(),
            failure.version.to_string(),
            failure.global_position.to_string(),
            failure.event_id.to_string(),
            output.bad(&describe(&failure.kind)),
        ]);
    }
    output.print_table(&table);
    output.line(format!(
        "{} {} of {} streams broken ({} events checked); the first broken event of each stream is listed",
        output.bad("✗"),
        count(report.failures.len() as u64),
        count(report.streams_checked),
        count(report.events_checked)
    ));
}
