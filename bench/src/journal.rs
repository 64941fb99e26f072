//! The JSON lines journals of a load run: every accepted command (what the command API promised) and
//! every refused one (what must have left no event), read back by `orders-check`.

use std::fs::File;
use std::io::BufRead;
use std::io::BufReader;
use std::io::BufWriter;
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use chrono::DateTime;
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde::Serialize;
use uuid::Uuid;

/// A command the command API answered with 2xx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptedCommand {
    /// The command id the event store keys the command by (the `Idempotency-Key`, a uuid).
    pub command_id: Uuid,
    /// The `Idempotency-Key` sent.
    pub idempotency_key: String,
    /// The order (stream).
    pub order_id: Uuid,
    /// The command name, for example `add_item`.
    pub command: String,
    /// The HTTP status.
    pub status: u16,
    /// The order's version after the command.
    pub version: i64,
    /// `<xid8>:<position>` of the last event appended; absent when the command changed nothing.
    pub token: Option<String>,
    /// True when the answer was replayed for the repeated key.
    pub replayed: bool,
    /// How many requests it took (more than one after a transport error or a 5xx).
    pub attempts: u32,
    /// When the answer arrived.
    pub answered_at: DateTime<Utc>,
}

/// A command the command API refused with a 4xx.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedCommand {
    /// The command id the event store would have stored.
    pub command_id: Uuid,
    /// The `Idempotency-Key` sent.
    pub idempotency_key: String,
    /// The order.
    pub order_id: Uuid,
    /// The command name.
    pub command: String,
    /// The HTTP status.
    pub status: u16,
    /// The problem `type`.
    pub problem_type: String,
    /// True when the load generator sent it to be refused (an invalid command, or the losing side of a race).
    pub expected: bool,
    /// When the answer arrived.
    pub answered_at: DateTime<Utc>,
}

/// A JSON lines file written by many tasks; each record is one line.
#[derive(Debug)]
pub(crate) struct Journal {
    writer: Mutex<BufWriter<File>>,
}

impl Journal {
    /// Creates (or truncates) the file.
    pub(crate) fn create(path: &Path) -> anyhow::Result<Self> {
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { writer: Mutex::new(BufWriter::new(file)) })
    }

    /// Appends one record.
    pub(crate) fn write<T: Serialize>(&self, record: &T) -> anyhow::Result<()> {
        let mut line = serde_json::to_vec(record).context("encoding a journal record")?;
        line.push(b'\n');
        let mut writer = self.writer.lock().map_err(|_| anyhow::anyhow!("journal lock poisoned"))?;
        writer.write_all(&line).context("writing a journal record")
    }

    /// Writes out what is buffered.
    pub(crate) fn flush(&self) -> anyhow::Result<()> {
        let mut writer = self.writer.lock().map_err(|_| anyhow::anyhow!("journal lock poisoned"))?;
        writer.flush().context("flushing a journal")
    }
}

/// Reads every record of a JSON lines file.
pub fn read_journal<T: DeserializeOwned>(path: &Path) -> anyhow::Result<Vec<T>> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut records = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("reading {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        records.push(
            serde_json::from_str(&line)
                .with_context(|| format!("decoding line {} of {}", index + 1, path.display()))?,
        );
    }
    Ok(records)
}
