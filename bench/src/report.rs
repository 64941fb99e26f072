//! The report of a load run: written as `report.json` and printed as a short summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use chrono::DateTime;
use chrono::Utc;
use serde::Deserialize;
use serde::Serialize;

use crate::baseline::BaselineReport;
use crate::freshness::FreshnessReport;
use crate::load::Figures;
use crate::load::LoadSettings;
use crate::stats::LatencySummary;

/// Everything a load run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// When the load started.
    pub started_at: DateTime<Utc>,
    /// From the first command until the last flow in flight finished.
    pub load_seconds: f64,
    /// Workers.
    pub concurrency: usize,
    /// The bound on commands per second, if any.
    pub rate_limit: Option<f64>,
    /// The planner's seed.
    pub seed: u64,
    /// Flows.
    pub flows: FlowCounts,
    /// Commands answered with 2xx.
    pub commands_accepted: u64,
    /// Accepted commands per second of load.
    pub commands_per_second: f64,
    /// Accepted commands by command name.
    pub accepted_by_command: BTreeMap<String, u64>,
    /// Latency of the requests answered with 2xx, by command name.
    pub latency_by_command: BTreeMap<String, LatencySummary>,
    /// Latency of every request answered with 2xx.
    pub latency_all: LatencySummary,
    /// Every answer by status (`connect`, `timeout` and `transport` for requests without one), retries included.
    pub responses_by_status: BTreeMap<String, u64>,
    /// Refusals the generator asked for (invalid commands, losing side of a race), by status.
    pub expected_refusals_by_status: BTreeMap<String, u64>,
    /// Every other non-2xx answer or failed request, by status, retried ones included.
    pub errors_by_status: BTreeMap<String, u64>,
    /// Requests repeated with the same `Idempotency-Key` after a transport error, 5xx or conflict.
    pub retried_requests: u64,
    /// Commands abandoned after retrying for the whole budget.
    pub gave_up: u64,
    /// Invalid commands that were accepted (must be 0).
    pub unexpected_acceptances: u64,
    /// Races of two `If-Match` writers, and how many had exactly one winner (must be all).
    pub races: u64,
    /// See `races`.
    pub races_with_one_winner: u64,
    /// From the 2xx answer until visible.
    pub freshness: FreshnessReport,
    /// The raw-insert baseline, when it ran.
    pub baseline: Option<BaselineReport>,
    /// Commands per second divided by baseline inserts per second.
    pub ratio_to_baseline: Option<f64>,
}

/// How the flows went.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCounts {
    /// Begun.
    pub started: u64,
    /// Played to the end.
    pub completed: u64,
    /// Stopped by a command that failed for good.
    pub aborted: u64,
    /// Stopped because the load duration was over.
    pub cut_by_deadline: u64,
}

impl Report {
    /// Assembles the report from the run's figures.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        settings: &LoadSettings,
        seed: u64,
        started_at: DateTime<Utc>,
        load_elapsed: Duration,
        figures: Figures,
        commands_per_second: f64,
        freshness: FreshnessReport,
        baseline: Option<BaselineReport>,
        ratio_to_baseline: Option<f64>,
    ) -> Self {
        let mut all = crate::stats::Latencies::new();
        for latencies in figures.latency_by_command.values() {
            all.merge(latencies);
        }
        Self {
            started_at,
            load_seconds: (load_elapsed.as_secs_f64() * 1_000.0).round() / 1_000.0,
            concurrency: settings.concurrency,
            rate_limit: settings.rate,
            seed,
            flows: FlowCounts {
                started: figures.flows_started,
                completed: figures.flows_completed,
                aborted: figures.flows_aborted,
                cut_by_deadline: figures.flows_cut_by_deadline,
            },
            commands_accepted: figures.accepted_by_command.values().sum(),
            commands_per_second,
            accepted_by_command: figures
                .accepted_by_command
                .iter()
                .map(|(name, count)| ((*name).to_owned(), *count))
                .collect(),
            latency_by_command: figures
                .latency_by_command
                .iter()
                .map(|(name, latencies)| ((*name).to_owned(), latencies.summary()))
                .collect(),
            latency_all: all.summary(),
            responses_by_status: figures.responses_by_status,
            expected_refusals_by_status: figures.expected_refusals_by_status,
            errors_by_status: figures.unexpected_errors_by_status,
            retried_requests: figures.retried_requests,
            gave_up: figures.gave_up,
            unexpected_acceptances: figures.unexpected_acceptances,
            races: figures.races,
            races_with_one_winner: figures.races_with_one_winner,
            freshness,
            baseline,
            ratio_to_baseline,
        }
    }

    /// The human summary printed at the end of a run.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "orders-load: {} commands accepted in {:.1} s = {:.1} commands/s ({} workers{})",
            self.commands_accepted,
            self.load_seconds,
            self.commands_per_second,
            self.concurrency,
            self.rate_limit.map(|rate| format!(", at most {rate}/s")).unwrap_or_default()
        );
        let _ = writeln!(
            out,
            "flows: {} started, {} completed, {} aborted, {} cut by the deadline",
            self.flows.started, self.flows.completed, self.flows.aborted, self.flows.cut_by_deadline
        );
        let _ =
            writeln!(out, "{:<22} {:>8} {:>9} {:>9} {:>9} {:>9}", "latency (ms)", "count", "p50", "p95", "p99", "max");
        for (name, summary) in self.latency_by_command.iter().chain([(&"all".to_owned(), &self.latency_all)]) {
            let _ = writeln!(
                out,
                "{:<22} {:>8} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                name, summary.count, summary.p50_ms, summary.p95_ms, summary.p99_ms, summary.max_ms
            );
        }
        let _ = writeln!(out, "errors by status: {}", format_counts(&self.errors_by_status));
        let _ = writeln!(out, "expected refusals by status: {}", format_counts(&self.expected_refusals_by_status));
        let _ = writeln!(
            out,
            "retried requests: {}, gave up: {}, invalid commands accepted: {}, races: {} ({} with one winner)",
            self.retried_requests, self.gave_up, self.unexpected_acceptances, self.races, self.races_with_one_winner
        );
        for (label, target) in [("postgres view", &self.freshness.postgres_view), ("search", &self.freshness.search)] {
            let _ = writeln!(
                out,
                "freshness {label:<13}: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} samples ({} timed out, {} unresolved, {} poll errors)",
                target.latency.p50_ms,
                target.latency.p99_ms,
                target.latency.max_ms,
                target.latency.count,
                target.timed_out,
                target.unresolved,
                target.poll_errors
            );
        }
        match (&self.baseline, self.ratio_to_baseline) {
            (Some(baseline), Some(ratio)) => {
                let _ = writeln!(
                    out,
                    "baseline: {} raw single-row INSERT transactions in {:.1} s = {:.1} inserts/s ({} writers); commands/s / inserts/s = {ratio:.3}",
                    baseline.rows, baseline.seconds, baseline.inserts_per_second, baseline.concurrency
                );
            }
            _ => {
                let _ = writeln!(out, "baseline: not run");
            }
        }
        out
    }
}

fn format_counts(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return "none".to_owned();
    }
    counts.iter().map(|(status, count)| format!("{status}: {count}")).collect::<Vec<_>>().join(", ")
}
