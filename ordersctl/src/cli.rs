//! The command line: every command, flag and environment fallback (clap derive), and the dispatch from a
//! parsed command to the module that runs it. Defaults match the local stack of `scripts/stack`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use event_store::LogPosition;
use uuid::Uuid;

use crate::context::Context;
use crate::error::Error;
use crate::output::{ColorChoice, Output};
use crate::Outcome;

/// The admin role of the local stack: it may read the event store and rename the projection tables.
const DEFAULT_DATABASE_URL: &str = "postgres://orders_admin:orders_admin@127.0.0.1:55432/orders";

/// Operator tool of the order system: rebuild and verify projections, audit and export the event log.
#[derive(Debug, Parser)]
#[command(name = "ordersctl", version, propagate_version = true, max_term_width = 110)]
#[command(after_help = "Exit status: 0 when all is well, 1 when differences, tampering or parked orders were found, \
2 when the command failed.")]
pub struct Cli {
    /// Where the services are.
    #[command(flatten)]
    pub(crate) connection: ConnectionArgs,
    /// Print machine-readable JSON (one object, or JSON lines for streams) instead of tables.
    #[arg(long, global = true, help_heading = "Output")]
    pub(crate) json: bool,
    /// When to colour the output.
    #[arg(long, global = true, value_enum, default_value = "auto", help_heading = "Output")]
    pub(crate) color: ColorChoice,
    /// The command.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Addresses of Postgres, Elasticsearch and NATS (flags, with environment fallbacks).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection (flags or environment)")]
pub(crate) struct ConnectionArgs {
    /// Postgres URL; the default is the admin role of the local stack.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true, default_value = DEFAULT_DATABASE_URL)]
    pub(crate) database_url: String,
    /// Elasticsearch URL.
    #[arg(
        long,
        global = true,
        env = "ELASTICSEARCH_URL",
        hide_env_values = true,
        default_value = "http://127.0.0.1:19200"
    )]
    pub(crate) elasticsearch_url: String,
    /// Alias of the order search index (what readers use).
    #[arg(long, global = true, env = "ELASTICSEARCH_ALIAS", hide_env_values = true, default_value = schemas::ELASTICSEARCH_ALIAS)]
    pub(crate) search_alias: String,
    /// Prefix of the concrete search indices behind the alias.
    #[arg(long, global = true, env = "ELASTICSEARCH_INDEX_PREFIX", hide_env_values = true, default_value = schemas::ELASTICSEARCH_INDEX_PREFIX)]
    pub(crate) search_index_prefix: String,
    /// NATS URL (for the JetStream consumer figures of `projections status` and `verify-log --seals`).
    #[arg(long, global = true, env = "NATS_URL", hide_env_values = true, default_value = "nats://127.0.0.1:14222")]
    pub(crate) nats_url: String,
    /// JetStream stream of the order events.
    #[arg(long, global = true, env = "NATS_STREAM", hide_env_values = true, default_value = schemas::NATS_STREAM_NAME)]
    pub(crate) nats_stream: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Status, rebuild, verification and retries of the read projections.
    #[command(subcommand)]
    Projections(ProjectionsCommand),
    /// The audit trail of one order, or its state as of a version or time.
    Replay(ReplayArgs),
    /// Write events as JSON lines for an external auditor (streaming, resumable by log position).
    Export(ExportArgs),
    /// Load an export into an empty (scratch) event store and check its hash chains.
    Import(ImportArgs),
    /// Check every stream's hash chain and version sequence (and, with --seals, the heads sealed to NATS);
    /// report the first broken event of each stream.
    VerifyLog(VerifyLogArgs),
    /// Append realistic order histories through the event store API (test and benchmark data).
    Seed(SeedArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum ProjectionsCommand {
    /// Checkpoint, lag (positions and time), events/s, parked orders, dead letters and last error of each projection.
    Status(StatusArgs),
    /// Rebuild a projection from position 0 into a shadow copy and swap it in atomically, without downtime.
    Rebuild(RebuildArgs),
    /// Rebuild into a scratch copy and compare it with the live view; exit status 1 on any difference.
    Verify(VerifyArgs),
    /// Retry the parked orders of a projection after a fix (all, or the given orders).
    RetryParked(RetryParkedArgs),
}

/// A projection by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProjectionName {
    /// The four Postgres view tables (order_summary, order_lines, customer_figures, daily_sales).
    #[value(name = "order_views", alias = "views")]
    OrderViews,
    /// The Elasticsearch index behind the order alias.
    #[value(name = "order_search", alias = "search")]
    OrderSearch,
}

impl ProjectionName {
    pub(crate) const ALL: [ProjectionName; 2] = [ProjectionName::OrderViews, ProjectionName::OrderSearch];

    /// The checkpoint name in `projections.checkpoints`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProjectionName::OrderViews => projections::ORDER_VIEWS,
            ProjectionName::OrderSearch => projections::ORDER_SEARCH,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// How long to watch the checkpoints to measure events per second (0 to skip).
    #[arg(long, default_value = "1000", value_name = "MILLISECONDS")]
    pub(crate) sample_ms: u64,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  ordersctl projections rebuild order_views\n  ordersctl projections rebuild --all --keep-old"
)]
pub(crate) struct RebuildArgs {
    /// The projection to rebuild.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub(crate) name: Option<ProjectionName>,
    /// Rebuild every projection, one after the other.
    #[arg(long)]
    pub(crate) all: bool,
    /// Keep the swapped-out copy (`*_retired` tables, the old index) until the next rebuild instead of dropping it.
    #[arg(long)]
    pub(crate) keep_old: bool,
    /// Without a terminal, print a progress line every this many events.
    #[arg(long, default_value = "100000", value_name = "EVENTS")]
    pub(crate) progress_every: u64,
    /// Pause after every batch of the fill (demonstrations and crash tests).
    #[arg(long, hide = true, default_value = "0", value_name = "MILLISECONDS")]
    pub(crate) throttle_ms: u64,
}

impl RebuildArgs {
    pub(crate) fn names(&self) -> Vec<ProjectionName> {
        match self.name {
            Some(name) if !self.all => vec![name],
            _ => ProjectionName::ALL.to_vec(),
        }
    }

    pub(crate) fn throttle(&self) -> Duration {
        Duration::from_millis(self.throttle_ms)
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  ordersctl projections verify order_views || echo \"the live view differs\"")]
pub(crate) struct VerifyArgs {
    /// The projection to verify.
    pub(crate) name: ProjectionName,
    /// Most differences listed per table or index.
    #[arg(long, default_value = "20")]
    pub(crate) max_differences: i64,
    /// Keep the scratch copy (`*_verify` tables or index) for inspection.
    #[arg(long)]
    pub(crate) keep_scratch: bool,
    /// Without a terminal, print a progress line every this many events.
    #[arg(long, default_value = "100000", value_name = "EVENTS")]
    pub(crate) progress_every: u64,
}

#[derive(Debug, Args)]
pub(crate) struct RetryParkedArgs {
    /// Only these orders (all parked orders when none is given).
    pub(crate) order_ids: Vec<Uuid>,
    /// Only this projection (both when not given).
    #[arg(long)]
    pub(crate) projection: Option<ProjectionName>,
}

/// A version number or a point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsOf {
    /// Stream version (1 is the first event).
    Version(i64),
    /// Everything recorded at or before this time.
    Time(chrono::DateTime<chrono::Utc>),
}

fn parse_as_of(text: &str) -> Result<AsOf, String> {
    if let Ok(version) = text.parse::<i64>() {
        return if version >= 1 { Ok(AsOf::Version(version)) } else { Err("versions start at 1".to_owned()) };
    }
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(AsOf::Time(time.with_timezone(&chrono::Utc)));
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        // A day means the end of that day (UTC).
        let end = date.and_hms_micro_opt(23, 59, 59, 999_999).map(|time| time.and_utc());
        return end.map(AsOf::Time).ok_or_else(|| "invalid date".to_owned());
    }
    Err("expected a version (e.g. 3), an RFC 3339 time (e.g. 2026-11-21T09:00:00Z) or a day (2026-11-21)".to_owned())
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  ordersctl replay 0193a5d2-7c1e-7a8b-9f00-3e2d1c0b4a59\n  \
ordersctl replay 0193a5d2-7c1e-7a8b-9f00-3e2d1c0b4a59 --as-of 4\n  \
ordersctl replay 0193a5d2-7c1e-7a8b-9f00-3e2d1c0b4a59 --as-of 2026-11-21T09:00:00Z --json")]
pub(crate) struct ReplayArgs {
    /// The order id (its stream id).
    pub(crate) order_id: Uuid,
    /// Print the order's state as of this stream version, RFC 3339 time or UTC day (recorded time) instead of the trail.
    #[arg(long, value_parser = parse_as_of, value_name = "VERSION|TIME")]
    pub(crate) as_of: Option<AsOf>,
}

/// A log position `<xid8>:<position>`, or `0` for the start of the log.
fn parse_position(text: &str) -> Result<LogPosition, String> {
    if text.trim() == "0" {
        return Ok(LogPosition::START);
    }
    text.parse::<LogPosition>().map_err(|error| error.to_string())
}

#[derive(Debug, Args)]
#[command(
    after_help = "Each line is one event with its hash and `log_position`; resume an interrupted export with\n  \
ordersctl export --from-position \"$(tail -n1 events.jsonl | jq -r .log_position)\" >> events.jsonl"
)]
pub(crate) struct ExportArgs {
    /// Start after this log position (`<xid8>:<position>` as in the `log_position` of an exported line; `0` = start).
    #[arg(long, value_parser = parse_position, value_name = "XID8:POSITION")]
    pub(crate) from_position: Option<LogPosition>,
    /// Stop at this log position (inclusive).
    #[arg(long, value_parser = parse_position, value_name = "XID8:POSITION")]
    pub(crate) to_position: Option<LogPosition>,
    /// Only the events of this stream (order id).
    #[arg(long)]
    pub(crate) stream: Option<Uuid>,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    pub(crate) output: Option<PathBuf>,
    /// Events read per query.
    #[arg(long, default_value = "10000")]
    pub(crate) batch_size: i64,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example (into a scratch database):\n  createdb -h 127.0.0.1 -p 55432 -U orders_admin audit_copy\n  \
ordersctl --database-url postgres://orders_admin:orders_admin@127.0.0.1:55432/audit_copy import events.jsonl"
)]
pub(crate) struct ImportArgs {
    /// The export file (`-` for standard input).
    pub(crate) file: PathBuf,
    /// Skip the hash-chain check after loading.
    #[arg(long)]
    pub(crate) no_verify: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyLogArgs {
    /// Only this stream (order id).
    #[arg(long)]
    pub(crate) stream: Option<Uuid>,
    /// Also check the stream heads the relay sealed to NATS (`<NATS_STREAM>_SEALS`): finds deleted newest
    /// events and rewritten chains, which the chains alone cannot show.
    #[arg(long)]
    pub(crate) seals: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// How many orders to create (about 8 events each).
    #[arg(long, default_value = "1000")]
    pub(crate) orders: u64,
    /// Concurrent writers.
    #[arg(long, default_value = "8")]
    pub(crate) concurrency: usize,
    /// Seed of the random histories (the same seed gives the same histories, with new ids).
    #[arg(long, default_value = "1")]
    pub(crate) seed: u64,
    /// Spread the orders over this many past days.
    #[arg(long, default_value = "90")]
    pub(crate) days: u32,
}

#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// Rebuild throughput of each projection beside the raw read rate of the same events.
    Rebuild(BenchRebuildArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BenchRebuildArgs {
    /// Seed this many orders first (0: use the events already stored).
    #[arg(long, default_value = "0")]
    pub(crate) seed_orders: u64,
    /// Concurrent writers while seeding.
    #[arg(long, default_value = "8")]
    pub(crate) concurrency: usize,
    /// Projections to rebuild.
    #[arg(long, value_delimiter = ',', default_value = "order_views,order_search")]
    pub(crate) projections: Vec<ProjectionName>,
}

/// Runs the parsed command.
pub(crate) async fn dispatch(cli: Cli) -> Result<Outcome, Error> {
    let output = Output::new(cli.json, cli.color);
    let context = Context::connect(cli.connection).await?;
    match cli.command {
        Command::Projections(ProjectionsCommand::Status(args)) => crate::status::run(&context, &output, &args).await,
        Command::Projections(ProjectionsCommand::Rebuild(args)) => crate::rebuild::run(&context, &output, &args).await,
        Command::Projections(ProjectionsCommand::Verify(args)) => {
            crate::verify_view::run(&context, &output, &args).await
        }
        Command::Projections(ProjectionsCommand::RetryParked(args)) => {
            crate::retry::run(&context, &output, &args).await
        }
        Command::Replay(args) => crate::replay::run(&context, &output, &args).await,
        Command::Export(args) => crate::export::run(&context, &output, &args).await,
        Command::Import(args) => crate::import::run(&context, &output, &args).await,
        Command::VerifyLog(args) => crate::verify_log::run(&context, &output, &args).await,
        Command::Seed(args) => crate::seed::run(&context, &output, &args).await,
        Command::Bench(BenchCommand::Rebuild(args)) => crate::bench::run(&context, &output, &args).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn as_of_accepts_versions_times_and_days() {
        assert_eq!(parse_as_of("3"), Ok(AsOf::Version(3)));
        assert!(parse_as_of("0").is_err());
        assert!(matches!(parse_as_of("2026-11-21T09:00:00Z"), Ok(AsOf::Time(_))));
        assert!(matches!(parse_as_of("2026-11-21"), Ok(AsOf::Time(_))));
        assert!(parse_as_of("yesterday").is_err());
    }

    #[test]
    fn positions_are_log_positions_or_zero() {
        assert_eq!(parse_position("0"), Ok(LogPosition::START));
        assert_eq!(parse_position("12:34"), Ok(LogPosition::new(12, 34)));
        assert!(parse_position("34").is_err());
    }

    #[test]
    fn rebuild_needs_a_name_or_all() {
        assert!(Cli::try_parse_from(["ordersctl", "projections", "rebuild"]).is_err());
        assert!(Cli::try_parse_from(["ordersctl", "projections", "rebuild", "order_views", "--all"]).is_err());
        assert!(Cli::try_parse_from(["ordersctl", "projections", "rebuild", "views"]).is_ok());
        assert!(Cli::try_parse_from(["ordersctl", "projections", "rebuild", "--all"]).is_ok());
    }
}
