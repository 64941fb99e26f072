//! `bench rebuild`: the rebuild throughput of each projection beside the raw rate of reading the same events
//! from the event store in the same run, with the CPU time each process spent (this tool, Postgres,
//! Elasticsearch), which shows what bounds a rebuild on the machine at hand.
//!
//! The rebuilds are the real ones (`projections::rebuild_projection`), swapped in at the end like any
//! operator's rebuild; run it against a database of its own. The search rebuild goes to the alias
//! `<alias>-bench`, never to the one the live system serves.

use std::time::Instant;

use event_store::{LogPosition, MAX_READ_BATCH};
use projections::{CatchUpReport, RebuildTarget, SearchIndex};
use serde::Serialize;

use crate::cli::{BenchRebuildArgs, ProjectionName};
use crate::context::Context;
use crate::error::Error;
use crate::output::{count, duration, rate, Align, Output, Table};
use crate::progress::Progress;
use crate::seed::{seed_with_progress, SeedOptions};
use crate::Outcome;

/// One measured run.
#[derive(Debug, Clone, Serialize)]
struct Measurement {
    what: String,
    events: u64,
    seconds: f64,
    events_per_second: f64,
    /// Events per second divided by the raw read rate.
    ratio_to_raw_read: f64,
    /// CPU seconds per wall second (1.0 = one core busy) of this process, all Postgres processes, Elasticsearch.
    client_cores: f64,
    postgres_cores: f64,
    elasticsearch_cores: f64,
    /// Share of the whole machine's CPU that was busy (all processes).
    machine_busy: f64,
}

#[derive(Debug, Clone, Serialize)]
struct BenchReport {
    events_in_store: u64,
    cpus: usize,
    seeded: Option<crate::seed::SeedReport>,
    measurements: Vec<Measurement>,
}

pub(crate) async fn run(context: &Context, output: &Output, args: &BenchRebuildArgs) -> Result<Outcome, Error> {
    crate::seed::migrate(context).await?;
    let seeded = if args.seed_orders > 0 {
        let options = SeedOptions { orders: args.seed_orders, concurrency: args.concurrency, ..SeedOptions::default() };
        Some(seed_with_progress(&context.store, &options).await?)
    } else {
        None
    };
    let events_in_store = context.count_events().await?;
    let mut measurements = Vec::new();

    let before = CpuSample::take();
    let started = Instant::now();
    let mut progress = Progress::new("raw read", events_in_store, 200_000);
    let mut checkpoint = LogPosition::START;
    let mut read = 0_u64;
    loop {
        let batch = context.store.read_all_from(checkpoint, MAX_READ_BATCH).await?;
        let Some(last) = batch.last() else { break };
        checkpoint = last.log_position();
        read += batch.len() as u64;
        progress.set(read);
    }
    progress.finish();
    let raw = measure("raw read (read_all_from)", read, started, &before, None);
    let raw_rate = raw.events_per_second;
    measurements.push(raw);

    for name in &args.projections {
        measurements.push(rebuild_measured(context, *name, events_in_store, raw_rate).await?);
    }
    let report = BenchReport { events_in_store, cpus: CpuSample::cpus(), seeded, measurements };
    if output.is_json() {
        output.print_json(&report)?;
    } else {
        print_report(output, &report);
    }
    Ok(Outcome::Clean)
}

async fn rebuild_measured(
    context: &Context,
    name: ProjectionName,
    events_in_store: u64,
    raw_rate: f64,
) -> Result<Measurement, Error> {
    let mut progress = Progress::new(name.as_str(), events_in_store, 200_000);
    let mut on_batch = |report: &CatchUpReport| progress.set(report.events_read);
    let before = CpuSample::take();
    let started = Instant::now();
    // Its own alias and index prefix: Elasticsearch is shared by every database of the cluster, and the
    // benchmark must never swap its documents into the index the live system serves.
    let target = match name {
        ProjectionName::OrderViews => RebuildTarget::Views,
        ProjectionName::OrderSearch => {
            let alias = format!("{}-bench", context.connection.search_alias);
            RebuildTarget::Search(SearchIndex::new(
                &context.connection.elasticsearch_url,
                &alias,
                &format!("{alias}-v1"),
            )?)
        }
    };
    let outcome = projections::rebuild_projection(&context.pool, &target, false, &mut on_batch).await?;
    let report = outcome.report;
    progress.finish();
    let events = report.fill.events_read + report.final_events;
    Ok(measure(&format!("rebuild {}", name.as_str()), events, started, &before, Some(raw_rate)))
}

fn measure(what: &str, events: u64, started: Instant, before: &CpuSample, raw_rate: Option<f64>) -> Measurement {
    let seconds = started.elapsed().as_secs_f64();
    let after = CpuSample::take();
    let per_wall = |ticks: u64| ticks as f64 / CpuSample::TICKS_PER_SECOND / seconds.max(1e-9);
    let events_per_second = events as f64 / seconds.max(1e-9);
    let machine_total = after.machine_total.saturating_sub(before.machine_total).max(1);
    let machine_idle = after.machine_idle.saturating_sub(before.machine_idle);
    Measurement {
        what: what.to_owned(),
        events,
        seconds,
        events_per_second,
        ratio_to_raw_read: raw_rate.map_or(1.0, |raw| events_per_second / raw.max(1e-9)),
        client_cores: per_wall(after.client.saturating_sub(before.client)),
        postgres_cores: per_wall(after.postgres.saturating_sub(before.postgres)),
        elasticsearch_cores: per_wall(after.elasticsearch.saturating_sub(before.elasticsearch)),
        machine_busy: 1.0 - machine_idle as f64 / machine_total as f64,
    }
}

fn print_report(output: &Output, report: &BenchReport) {
    output.line(format!(
        "{} events in the store, {} CPUs{}",
        count(report.events_in_store),
        report.cpus,
        report.seeded.as_ref().map_or_else(String::new, |seeded| format!(
            "; seeded {} orders ({} events) in {}",
            count(seeded.orders),
            count(seeded.events),
            duration(seeded.seconds)
        ))
    ));
    let mut table = Table::new(&[
        ("RUN", Align::Left),
        ("EVENTS", Align::Right),
        ("TIME", Align::Right),
        ("EVENTS/S", Align::Right),
        ("VS RAW READ", Align::Right),
        ("CORES: CLI", Align::Right),
        ("POSTGRES", Align::Right),
        ("ES", Align::Right),
        ("MACHINE BUSY", Align::Right),
    ]);
    for measurement in &report.measurements {
        table.push(vec![
            measurement.what.clone(),
            count(measurement.events),
            duration(measurement.seconds),
            rate(measurement.events_per_second),
            format!("{:.2}", measurement.ratio_to_raw_read),
            format!("{:.2}", measurement.client_cores),
            format!("{:.2}", measurement.postgres_cores),
            format!("{:.2}", measurement.elasticsearch_cores),
            format!("{:.0}%", measurement.machine_busy * 100.0),
        ]);
    }
    output.print_table(&table);
}

/// CPU time so far, in clock ticks: this process, every `postgres` process, every `java` process
/// (Elasticsearch), and the whole machine (total and idle), from `/proc`. Zeros where `/proc` is missing.
#[derive(Debug, Clone, Default)]
struct CpuSample {
    client: u64,
    postgres: u64,
    elasticsearch: u64,
    machine_total: u64,
    machine_idle: u64,
}

impl CpuSample {
    /// `USER_HZ`, 100 on every Linux configuration that matters.
    const TICKS_PER_SECOND: f64 = 100.0;

    fn take() -> Self {
        let mut sample = CpuSample {
            client: process_ticks("/proc/self/stat").map_or(0, |(_, ticks)| ticks),
            ..CpuSample::default()
        };
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(name) = name.to_str() else { continue };
                if !name.bytes().all(|byte| byte.is_ascii_digit()) {
                    continue;
                }
                match process_ticks(&format!("/proc/{name}/stat")) {
                    Some((command, ticks)) if command.starts_with("postgres") => sample.postgres += ticks,
                    Some((command, ticks)) if command == "java" => sample.elasticsearch += ticks,
                    _ => {}
                }
            }
        }
        if let Ok(stat) = std::fs::read_to_string("/proc/stat") {
            if let Some(line) = stat.lines().next() {
                let fields: Vec<u64> = line.split_whitespace().skip(1).filter_map(|field| field.parse().ok()).collect();
                sample.machine_total = fields.iter().sum();
                // idle + iowait
                sample.machine_idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
            }
        }
        sample
    }

    fn cpus() -> usize {
        std::thread::available_parallelism().map_or(1, usize::from)
    }
}

/// `(command name, user + system ticks)` of one `/proc/<pid>/stat`.
fn process_ticks(path: &str) -> Option<(String, u64)> {
    let stat = std::fs::read_to_string(path).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let command = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 2..)?.split_whitespace().collect();
    // After the command: state is field 3 of the file; utime and stime are fields 14 and 15.
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some((command, user + system))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_readable_cpu_line() {
        let (command, _) = process_ticks("/proc/self/stat").expect("/proc/self/stat is readable on Linux");
        assert!(!command.is_empty());
    }
}
