//! `export`: every event (or one stream's, or a range of the log) as JSON lines, for an external auditor.
//!
//! It streams: events are read in batches through the gap-safe global log and written as they come, so
//! memory stays constant whatever the size of the log. Every line carries its `log_position`; passing the
//! last one to `--from-position` continues an interrupted export exactly where it stopped (the gap-safe
//! read never hands out an event before one of an earlier committed transaction).

use std::fs::OpenOptions;
use std::io::{BufWriter, Write};

use event_store::{LogPosition, RecordedEvent, MAX_READ_BATCH};
use serde::{Deserialize, Serialize};

use crate::cli::ExportArgs;
use crate::context::Context;
use crate::error::Error;
use crate::output::{count, Output};
use crate::progress::Progress;
use crate::Outcome;

/// One line of an export: the stored event (with its hash, hex-encoded) and its log position
/// `<xid8>:<position>`, which is also the resume point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedEvent {
    /// Where the event sits in the global log.
    pub log_position: String,
    /// The event as stored.
    #[serde(flatten)]
    pub event: RecordedEvent,
}

impl From<RecordedEvent> for ExportedEvent {
    fn from(event: RecordedEvent) -> Self {
        Self { log_position: event.log_position().to_string(), event }
    }
}

pub(crate) async fn run(context: &Context, output: &Output, args: &ExportArgs) -> Result<Outcome, Error> {
    let sink: Box<dyn Write> = match &args.output {
        // Appending makes `--from-position` resumption into the same file natural.
        Some(path) => Box::new(OpenOptions::new().create(true).append(true).open(path)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut lines = Lines {
        writer: BufWriter::with_capacity(1 << 20, sink),
        from: args.from_position.unwrap_or(LogPosition::START),
        to: args.to_position,
        exported: 0,
        last: None,
    };
    let mut progress = Progress::new("export", context.count_events().await?, 100_000);
    match args.stream {
        Some(stream_id) => {
            lines.write_batch(read_stream_in_log_order(context, stream_id).await?)?;
        }
        None => {
            let batch_size = args.batch_size.clamp(1, MAX_READ_BATCH);
            let mut checkpoint = lines.from;
            loop {
                let batch = context.store.read_all_from(checkpoint, batch_size).await?;
                let Some(last_read) = batch.last() else { break };
                checkpoint = last_read.log_position();
                let complete = (batch.len() as i64) < batch_size;
                let reached_end = lines.write_batch(batch)?;
                progress.set(lines.exported);
                if complete || reached_end {
                    break;
                }
            }
        }
    }
    lines.writer.flush()?;
    progress.finish();
    let resume = lines.last.map(|position| position.to_string());
    if output.is_json() {
        eprintln!("{}", serde_json::json!({ "exported": lines.exported, "last_position": resume }));
    } else {
        eprintln!(
            "exported {} events{}",
            count(lines.exported),
            resume.map_or_else(String::new, |position| format!(
                "; continue after the last one with --from-position {position}"
            ))
        );
    }
    Ok(Outcome::Clean)
}

/// The writing side of an export: the requested range of the log, one JSON line per event.
struct Lines {
    writer: BufWriter<Box<dyn Write>>,
    from: LogPosition,
    to: Option<LogPosition>,
    exported: u64,
    last: Option<LogPosition>,
}

impl Lines {
    /// Writes the events of a batch that fall in the range; true once past `--to-position`.
    fn write_batch(&mut self, batch: Vec<RecordedEvent>) -> Result<bool, Error> {
        for event in batch {
            let position = event.log_position();
            if position <= self.from {
                continue;
            }
            if self.to.is_some_and(|to| position > to) {
                self.writer.flush()?;
                return Ok(true);
            }
            serde_json::to_writer(&mut self.writer, &ExportedEvent::from(event))?;
            self.writer.write_all(b"\n")?;
            self.exported += 1;
            self.last = Some(position);
        }
        self.writer.flush()?;
        Ok(false)
    }
}

/// A whole stream, ordered by log position (which, inside one stream, is version order), in pages.
async fn read_stream_in_log_order(context: &Context, stream_id: uuid::Uuid) -> Result<Vec<RecordedEvent>, Error> {
    let mut events: Vec<RecordedEvent> = Vec::new();
    loop {
        let from_version = events.last().map_or(1, |event| event.version + 1);
        let page = match context.store.read_stream(stream_id, from_version, MAX_READ_BATCH).await {
            Ok(page) => page,
            Err(event_store::ReadError::StreamNotFound { .. }) => return Ok(events),
            Err(error) => return Err(error.into()),
        };
        let full = page.len() as i64 == MAX_READ_BATCH;
        events.extend(page);
        if !full {
            events.sort_by_key(RecordedEvent::log_position);
            return Ok(events);
        }
    }
}
