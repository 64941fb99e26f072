//! `projections rebuild`: the zero-downtime rebuild of `projections::rebuild_postgres_views` and
//! `projections::rebuild_search_index` (the same functions the projector service uses), wrapped with the
//! operator's concerns: one maintenance job per projection, clean-up of what a killed run left behind,
//! progress, dropping the swapped-out copy, and a report.
//!
//! Crash safety comes from the shape of the library's rebuild: everything before the swap writes only to
//! the shadow copy (`*_rebuild` tables, a new index that no alias points to), and the swap is one Postgres
//! transaction (plus one atomic `_aliases` request). A rerun after `kill -9` starts clean: it recreates the
//! shadow tables and deletes orphaned indices, then ends in the same state as an uninterrupted run.

use std::time::Instant;

use projections::CatchUpReport;
use serde::Serialize;

use crate::cli::{ProjectionName, RebuildArgs};
use crate::context::Context;
use crate::error::Error;
use crate::output::{count, duration, rate, Output};
use crate::progress::Progress;
use crate::Outcome;

/// What one rebuild did, as printed with `--json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RebuildSummary {
    pub(crate) projection: &'static str,
    /// Events read from the event store (fill plus the final catch-up under the live lock).
    pub(crate) events: u64,
    /// Events applied under the live projection's lock just before the swap.
    pub(crate) final_events: u64,
    pub(crate) seconds: f64,
    pub(crate) events_per_second: f64,
    /// Where the live projection continues from.
    pub(crate) checkpoint: String,
    /// The swapped-out copy: the suffix of the retired tables or the old index.
    pub(crate) old_copy: Option<String>,
    pub(crate) old_copy_dropped: bool,
    /// Leftovers of interrupted runs that were removed first (orphaned indices).
    pub(crate) leftovers_removed: Vec<String>,
    /// Orders parked by poison events after the rebuild.
    pub(crate) parked_orders: usize,
}

pub(crate) async fn run(context: &Context, output: &Output, args: &RebuildArgs) -> Result<Outcome, Error> {
    let mut summaries = Vec::new();
    for name in args.names() {
        let summary = rebuild_one(context, name, args).await?;
        if !output.is_json() {
            print_summary(output, &summary);
        }
        summaries.push(summary);
    }
    if output.is_json() {
        output.print_json(&summaries)?;
    }
    Ok(Outcome::Clean)
}

async fn rebuild_one(context: &Context, name: ProjectionName, args: &RebuildArgs) -> Result<RebuildSummary, Error> {
    let started = Instant::now();
    let total = context.count_events().await?;
    let mut progress = Progress::new(name.as_str(), total, args.progress_every);
    let throttle = args.throttle();
    let target = context.rebuild_target(name)?;
    let on_batch = |report: &CatchUpReport| {
        progress.set(report.events_read);
        if !throttle.is_zero() {
            std::thread::sleep(throttle);
        }
    };
    let result = projections::rebuild_projection(&context.pool, &target, args.keep_old, on_batch).await;
    progress.finish();
    let projections::RebuildOutcome { report, old_copy_dropped, leftovers_removed } = result?;
    let parked_orders = projections::parked_orders(&context.pool, name.as_str()).await?.len();
    let events = report.fill.events_read + report.final_events;
    let seconds = started.elapsed().as_secs_f64();
    Ok(RebuildSummary {
        projection: name.as_str(),
        events,
        final_events: report.final_events,
        seconds,
        events_per_second: events as f64 / report.elapsed.as_secs_f64().max(1e-9),
        checkpoint: report.checkpoint.to_string(),
        old_copy: report.retired,
        old_copy_dropped,
        leftovers_removed,
        parked_orders,
    })
}

fn print_summary(output: &Output, summary: &RebuildSummary) {
    output.line(format!(
        "{} {} rebuilt and swapped in: {} events in {} ({}), live from {}",
        output.good("✓"),
        output.bold(summary.projection),
        count(summary.events),
        duration(summary.seconds),
        rate(summary.events_per_second),
        summary.checkpoint,
    ));
    match (&summary.old_copy, summary.old_copy_dropped) {
        (Some(old), true) => output.line(format!("  old copy {old} dropped")),
        (Some(old), false) => output.line(format!("  old copy kept: {old} (dropped by the next rebuild)")),
        (None, _) => {}
    }
    if !summary.leftovers_removed.is_empty() {
        output.line(format!("  removed leftovers of interrupted runs: {}", summary.leftovers_removed.join(", ")));
    }
    if summary.parked_orders > 0 {
        output.line(output.warn(&format!(
            "  {} orders are parked by poison events: see `ordersctl projections status`, fix, then `retry-parked`",
            summary.parked_orders
        )));
    }
}
