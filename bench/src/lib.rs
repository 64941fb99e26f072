//! Load, freshness and fault suite of the order system: it drives the complete running system through the
//! command API, measures throughput, latency and freshness against a raw-insert baseline, and checks
//! afterwards that nothing was lost. `scripts/chaos` runs it while it kills and restarts each part.
//!
//! - [`plan_flow`] plans realistic order flows (pure and seeded); [`run_load`] plays them and writes a [`Report`]
//!   and JSON lines journals of accepted and refused commands.
//! - [`run_checks`] compares the journals with the event store, and the views and search index with the streams.
//!
//! It never writes the system's data except through the command API (the baseline uses a scratch database).

mod baseline;
mod check;
mod flow;
mod freshness;
mod journal;
mod load;
mod report;
mod stats;

pub use baseline::raw_insert_baseline;
pub use baseline::BaselineReport;
pub use check::run_checks;
pub use check::CheckOutcome;
pub use check::CheckSettings;
pub use flow::plan_flow;
pub use flow::Cart;
pub use flow::Ending;
pub use flow::FlowMix;
pub use flow::FlowPlan;
pub use flow::InvalidCommand;
pub use flow::RefundPortion;
pub use flow::Step;
pub use freshness::FreshnessReport;
pub use freshness::TargetFreshness;
pub use journal::read_journal;
pub use journal::AcceptedCommand;
pub use journal::RefusedCommand;
pub use load::run as run_load;
pub use load::LoadSettings;
pub use report::FlowCounts;
pub use report::Report;
pub use stats::per_second;
pub use stats::ratio;
pub use stats::Latencies;
pub use stats::LatencySummary;
