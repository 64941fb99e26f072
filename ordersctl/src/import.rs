//! `import`: loads an export into an empty (scratch) event store, to prove that an export is complete and
//! faithful: the rows are written exactly as exported (same ids, versions, times, payloads, metadata, global
//! positions and hashes), the canonical envelopes are recomputed from those columns, and the store's own
//! hash-chain check then runs over the result.
//!
//! This is the one writer of `event_store.events` outside the event-store crate, and only for a scratch
//! store: it refuses a store that already holds events. It cannot use `EventStore::append`, which stamps a
//! new `recorded_at` and so would produce different hashes by design.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use event_store::RecordedEvent;
use serde_json::{json, Value};
use sqlx::PgConnection;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use uuid::Uuid;

use crate::cli::ImportArgs;
use crate::context::Context;
use crate::error::Error;
use crate::export::ExportedEvent;
use crate::output::{count, Output};
use crate::progress::Progress;
use crate::Outcome;

const STAGING_BATCH: usize = 2_000;

/// The canonical envelope bytes of a stored event, as the event store hashes them: the RFC 8785 (JCS)
/// canonical JSON of `{event_id, event_type, metadata, payload, recorded_at, schema_version, stream_id,
/// stream_type, version}` with `recorded_at` in RFC 3339 with microseconds and `Z`.
pub(crate) fn envelope_bytes(event: &RecordedEvent) -> Result<Vec<u8>, serde_json::Error> {
    let metadata = serde_json::to_value(&event.metadata)?;
    serde_json_canonicalizer::to_vec(&json!({
        "event_id": event.event_id,
        "event_type": event.event_type,
        "metadata": metadata,
        "payload": event.payload,
        "recorded_at": event.recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "schema_version": event.schema_version,
        "stream_id": event.stream_id,
        "stream_type": event.stream_type,
        "version": event.version,
    }))
}

pub(crate) async fn run(context: &Context, output: &Output, args: &ImportArgs) -> Result<Outcome, Error> {
    event_store::MIGRATOR.run(&context.pool).await?;
    let (existing,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM event_store.events").fetch_one(&context.pool).await?;
    if existing > 0 {
        return Err(Error::ImportTargetNotEmpty { events: existing });
    }
    let reader: Box<dyn AsyncRead + Unpin + Send> = if args.file == Path::new("-") {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(tokio::fs::File::open(&args.file).await?)
    };
    let imported = load(context, BufReader::with_capacity(1 << 20, reader)).await?;
    let report = if args.no_verify { None } else { Some(context.store.verify(None).await?) };
    if output.is_json() {
        output.print_json(&json!({ "imported": imported, "verify": report }))?;
    } else {
        output.line(format!("{} imported {} events", output.good("✓"), count(imported)));
        if let Some(report) = &report {
            crate::verify_log::print_report(output, report);
        }
    }
    Ok(match report {
        Some(report) if !report.is_intact() => Outcome::ProblemsFound,
        _ => Outcome::Clean,
    })
}

/// Stages the lines in a temporary table, then inserts them all in one statement and one transaction:
/// an interrupted import leaves the store empty.
async fn load(context: &Context, reader: impl AsyncBufReadExt + Unpin) -> Result<u64, Error> {
    let mut transaction = context.pool.begin().await?;
    sqlx::query(
        "CREATE TEMPORARY TABLE import_events (
            global_position bigint, stream_id uuid, stream_type text, version bigint, event_id uuid,
            event_type text, schema_version integer, payload jsonb, metadata jsonb, recorded_at timestamptz,
            command_id uuid, envelope bytea, hash bytea
         ) ON COMMIT DROP",
    )
    .execute(&mut *transaction)
    .await?;
    let mut progress = Progress::new("import", 0, 100_000);
    let mut lines = reader.lines();
    let mut batch = Vec::with_capacity(STAGING_BATCH);
    let mut line_number = 0_u64;
    while let Some(line) = lines.next_line().await? {
        line_number += 1;
        if line.trim().is_empty() {
            continue;
        }
        let exported: ExportedEvent =
            serde_json::from_str(&line).map_err(|source| Error::ImportLine { line: line_number, source })?;
        batch.push(exported.event);
        if batch.len() == STAGING_BATCH {
            stage(&mut transaction, &batch).await?;
            batch.clear();
            progress.set(line_number);
        }
    }
    stage(&mut transaction, &batch).await?;
    progress.finish();
    // The command id is stored on the first event of each append only, as the append does it.
    let inserted = sqlx::query(
        "INSERT INTO event_store.events
            (global_position, stream_id, stream_type, version, event_id, event_type, schema_version, payload,
             metadata, recorded_at, command_id, envelope, hash)
         OVERRIDING SYSTEM VALUE
         SELECT global_position, stream_id, stream_type, version, event_id, event_type, schema_version, payload,
                metadata, recorded_at,
                CASE WHEN lag(command_id) OVER (PARTITION BY stream_id ORDER BY version) IS DISTINCT FROM command_id
                     THEN command_id END,
                envelope, hash
           FROM import_events
          ORDER BY global_position",
    )
    .execute(&mut *transaction)
    .await?
    .rows_affected();
    sqlx::query(
        "SELECT setval(pg_get_serial_sequence('event_store.events', 'global_position'), \
                       (SELECT max(global_position) FROM event_store.events))",
    )
    .execute(&mut *transaction)
    .await?;
    transaction.commit().await?;
    Ok(inserted)
}

async fn stage(connection: &mut PgConnection, events: &[RecordedEvent]) -> Result<(), Error> {
    if events.is_empty() {
        return Ok(());
    }
    let mut metadata: Vec<Value> = Vec::with_capacity(events.len());
    let mut envelopes: Vec<Vec<u8>> = Vec::with_capacity(events.len());
    for event in events {
        metadata.push(serde_json::to_value(&event.metadata)?);
        envelopes.push(envelope_bytes(event)?);
    }
    sqlx::query(
        "INSERT INTO import_events SELECT * FROM UNNEST($1::int8[], $2::uuid[], $3::text[], $4::int8[], $5::uuid[], \
            $6::text[], $7::int4[], $8::jsonb[], $9::jsonb[], $10::timestamptz[], $11::uuid[], $12::bytea[], $13::bytea[])",
    )
    .bind(events.iter().map(|event| event.global_position).collect::<Vec<i64>>())
    .bind(events.iter().map(|event| event.stream_id).collect::<Vec<Uuid>>())
    .bind(events.iter().map(|event| event.stream_type.as_str()).collect::<Vec<&str>>())
    .bind(events.iter().map(|event| event.version).collect::<Vec<i64>>())
    .bind(events.iter().map(|event| event.event_id).collect::<Vec<Uuid>>())
    .bind(events.iter().map(|event| event.event_type.as_str()).collect::<Vec<&str>>())
    .bind(events.iter().map(|event| event.schema_version).collect::<Vec<i32>>())
    .bind(events.iter().map(|event| &event.payload).collect::<Vec<&Value>>())
    .bind(metadata)
    .bind(events.iter().map(|event| event.recorded_at).collect::<Vec<DateTime<Utc>>>())
    .bind(events.iter().map(|event| event.metadata.command_id).collect::<Vec<Uuid>>())
    .bind(envelopes)
    .bind(events.iter().map(|event| event.hash.to_vec()).collect::<Vec<Vec<u8>>>())
    .execute(connection)
    .await?;
    Ok(())
}
