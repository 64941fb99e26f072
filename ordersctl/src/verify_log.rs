//! `verify-log`: the event store's tamper check (`EventStore::verify`) over all streams or one: versions
//! 1, 2, 3, ... without holes, every row equal to the canonical envelope it hashed, and every hash chained
//! to the previous one. The first broken event of each stream is reported; any finding exits with status 1.
//!
//! Not detectable from inside the database: the newest events of a stream deleted with nothing after them.
//! `--seals` adds that check: the newest head of every stream the relay sealed to NATS must still be in the
//! store with the same hash.

use std::time::Duration;

use event_store::{HeadFound, HeadMismatch, VerifyFailureKind, VerifyReport};
use projections::{NatsTopology, SealedHeads};
use serde::Serialize;

use crate::cli::VerifyLogArgs;
use crate::context::Context;
use crate::error::Error;
use crate::output::{count, Align, Output, Table};
use crate::Outcome;

/// What `verify-log --seals` found beside the chains.
#[derive(Debug, Serialize)]
struct SealReport {
    /// Seal messages read.
    messages: u64,
    /// Streams whose newest sealed head was checked.
    heads_checked: usize,
    /// The end of the newest sealed stretch of the log.
    sealed_through: Option<String>,
    /// Sealed heads the store no longer matches.
    mismatches: Vec<HeadMismatch>,
}

pub(crate) async fn run(context: &Context, output: &Output, args: &VerifyLogArgs) -> Result<Outcome, Error> {
    let report = match context.store.verify(args.stream).await {
        Ok(report) => report,
        Err(event_store::ReadError::StreamNotFound { stream_id }) => return Err(Error::OrderNotFound(stream_id)),
        Err(error) => return Err(error.into()),
    };
    let seals = match args.seals {
        true => Some(check_seals(context, args).await?),
        false => None,
    };
    let intact = report.is_intact() && seals.as_ref().is_none_or(|seals| seals.mismatches.is_empty());
    match (&seals, output.is_json()) {
        (None, true) => output.print_json(&report)?,
        (Some(seals), true) => output.print_json(&serde_json::json!({ "chains": report, "seals": seals }))?,
        (seals, false) => {
            print_report(output, &report);
            if let Some(seals) = seals {
                print_seals(output, seals);
            }
        }
    }
    Ok(if intact { Outcome::Clean } else { Outcome::ProblemsFound })
}

async fn check_seals(context: &Context, args: &VerifyLogArgs) -> Result<SealReport, Error> {
    let topology = NatsTopology::new(&context.connection.nats_stream, schemas::NATS_SUBJECT_PREFIX);
    let client = async_nats::ConnectOptions::new()
        .name("ordersctl")
        .connection_timeout(Duration::from_secs(5))
        .connect(&context.connection.nats_url)
        .await
        .map_err(|error| Error::Nats(format!("connecting to {}: {error}", context.connection.nats_url)))?;
    let sealed = projections::read_sealed_heads(&async_nats::jetstream::new(client), &topology).await?;
    let SealedHeads { messages, sealed_through, heads, .. } = sealed;
    let heads: Vec<_> = heads.into_iter().filter(|head| args.stream.is_none_or(|id| head.stream_id == id)).collect();
    let mismatches = context.store.check_heads(&heads).await?;
    Ok(SealReport {
        messages,
        heads_checked: heads.len(),
        sealed_through: sealed_through.map(|through| through.to_string()),
        mismatches,
    })
}

fn print_seals(output: &Output, seals: &SealReport) {
    if seals.messages == 0 {
        output.line(
            output.warn("! no seals yet: the relay seals every RELAY_SEAL_INTERVAL_SECS (10) while it publishes"),
        );
        return;
    }
    let through = seals.sealed_through.as_deref().unwrap_or("-");
    if seals.mismatches.is_empty() {
        output.line(format!(
            "{} sealed heads match: {} streams checked against {} seals (sealed through {through})",
            output.good("✓"),
            count(seals.heads_checked as u64),
            count(seals.messages)
        ));
        return;
    }
    let mut table = Table::new(&[("STREAM", Align::Left), ("SEALED VERSION", Align::Right), ("PROBLEM", Align::Left)]);
    for mismatch in &seals.mismatches {
        let problem = match &mismatch.found {
            HeadFound::Missing { stream_version } => {
                format!("deleted: the store's stream ends at version {stream_version}")
            }
            HeadFound::OtherHash { .. } => "rewritten: the event at the sealed version has another hash".to_owned(),
        };
        table.push(vec![
            mismatch.sealed.stream_id.to_string(),
            mismatch.sealed.version.to_string(),
            output.bad(&problem),
        ]);
    }
    output.print_table(&table);
    output.line(format!(
        "{} {} of {} sealed heads do not match the store (sealed through {through})",
        output.bad("✗"),
        count(seals.mismatches.len() as u64),
        count(seals.heads_checked as u64)
    ));
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
