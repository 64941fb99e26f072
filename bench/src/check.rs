//! The checks after a load or fault run, against the event store, the views and the search index:
//! every accepted command is stored where its answer said, no refused command left an event, the hash
//! chains verify, both projections catch up with the log, and the view and the index hold exactly one
//! row or document per order at the order's last version.
//!
//! Whether every projection equals a fresh rebuild is `ordersctl projections verify`, run by `scripts/chaos`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use event_store::EventStore;
use event_store::LogPosition;
use serde::Deserialize;
use serde::Serialize;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use uuid::Uuid;

use crate::journal::read_journal;
use crate::journal::AcceptedCommand;
use crate::journal::RefusedCommand;

/// Settings of `orders-check`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "orders-check",
    about = "Checks that a load run lost nothing and that the read side agrees with the event store"
)]
pub struct CheckSettings {
    /// Admin URL of the orders database.
    #[arg(long, env = "DATABASE_URL", default_value = "postgres://orders_admin:orders_admin@127.0.0.1:55432/orders")]
    pub database_url: String,
    /// Base URL of Elasticsearch.
    #[arg(long, env = "ELASTICSEARCH_URL", default_value = "http://127.0.0.1:19200")]
    pub elasticsearch_url: String,
    /// The folder of a load run (with accepted.jsonl and refused.jsonl).
    #[arg(long, default_value = "target/orders-load")]
    pub journal_dir: PathBuf,
    /// How long to wait for the projections to catch up with the log, in seconds.
    #[arg(long, default_value_t = 300)]
    pub catch_up_timeout: u64,
    /// Skip walking the hash chains (when `ordersctl verify-log` does it).
    #[arg(long)]
    pub skip_verify_log: bool,
    /// Where to write the results as JSON (the journal folder's check.json when absent).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The outcome of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// Its name.
    pub name: String,
    /// True when it passed.
    pub passed: bool,
    /// What was found, in words.
    pub detail: String,
}

impl CheckOutcome {
    fn new(name: &str, passed: bool, detail: String) -> Self {
        Self { name: name.to_owned(), passed, detail }
    }
}

/// Runs every check and writes the outcomes as JSON; the caller decides the exit code from `passed`.
pub async fn run_checks(settings: CheckSettings) -> anyhow::Result<Vec<CheckOutcome>> {
    let pool = connect(&settings.database_url).await?;
    let store = EventStore::new(pool.clone());
    let accepted: Vec<AcceptedCommand> = read_journal(&settings.journal_dir.join("accepted.jsonl"))?;
    let refused: Vec<RefusedCommand> = read_journal(&settings.journal_dir.join("refused.jsonl"))?;
    let mut outcomes = vec![
        accepted_commands_are_stored(&pool, &accepted).await?,
        refused_commands_left_no_event(&pool, &refused).await?,
    ];
    if !settings.skip_verify_log {
        outcomes.push(hash_chains_verify(&store).await?);
    }
    let caught_up = projections_catch_up(&pool, &store, Duration::from_secs(settings.catch_up_timeout)).await?;
    outcomes.push(caught_up);
    outcomes.push(view_matches_streams(&pool).await?);
    outcomes.push(search_matches_streams(&pool, &settings.elasticsearch_url).await?);
    outcomes.push(nothing_parked(&pool).await?);
    let out = settings.out.clone().unwrap_or_else(|| settings.journal_dir.join("check.json"));
    std::fs::write(&out, serde_json::to_vec_pretty(&outcomes)?)
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(outcomes)
}

async fn connect(database_url: &str) -> anyhow::Result<PgPool> {
    // Postgres may just have been restarted by the fault script: try for a minute.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match PgPoolOptions::new().max_connections(4).connect(database_url).await {
            Ok(pool) => return Ok(pool),
            Err(error) if Instant::now() >= deadline => return Err(error).context("connecting to the orders database"),
            Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

/// Each accepted command has its event row (by command id, in its order's stream), and the event its
/// consistency token names exists, in that stream, at the version the answer gave.
async fn accepted_commands_are_stored(pool: &PgPool, accepted: &[AcceptedCommand]) -> anyhow::Result<CheckOutcome> {
    let mut missing_commands: Vec<Uuid> = Vec::new();
    let mut wrong_tokens: Vec<String> = Vec::new();
    let mut without_token = 0;
    for chunk in accepted.chunks(5_000) {
        let command_ids: Vec<Uuid> = chunk.iter().map(|command| command.command_id).collect();
        let order_ids: Vec<Uuid> = chunk.iter().map(|command| command.order_id).collect();
        let missing: Vec<(Uuid,)> = sqlx::query_as(
            "SELECT wanted.command_id FROM unnest($1::uuid[], $2::uuid[]) AS wanted(command_id, order_id) \
             WHERE NOT EXISTS (SELECT 1 FROM event_store.events AS event \
                               WHERE event.command_id = wanted.command_id AND event.stream_id = wanted.order_id)",
        )
        .bind(&command_ids)
        .bind(&order_ids)
        .fetch_all(pool)
        .await
        .context("looking up accepted commands")?;
        missing_commands.extend(missing.into_iter().map(|(id,)| id));

        let mut transaction_ids = Vec::new();
        let mut positions = Vec::new();
        let mut streams = Vec::new();
        let mut versions = Vec::new();
        for command in chunk {
            match command.token.as_deref().map(str::parse::<LogPosition>) {
                Some(Ok(token)) => {
                    transaction_ids.push(token.transaction_id.to_string());
                    positions.push(token.position);
                    streams.push(command.order_id);
                    versions.push(command.version);
                }
                Some(Err(_)) => wrong_tokens.push(format!("{} (unreadable token)", command.command_id)),
                None => without_token += 1,
            }
        }
        let wrong: Vec<(i64, Uuid)> = sqlx::query_as(
            "SELECT wanted.position, wanted.stream_id \
             FROM unnest($1::text[], $2::bigint[], $3::uuid[], $4::bigint[]) AS wanted(transaction_id, position, stream_id, version) \
             WHERE NOT EXISTS (SELECT 1 FROM event_store.events AS event \
                               WHERE event.transaction_id = wanted.transaction_id::xid8 \
                                 AND event.global_position = wanted.position \
                                 AND event.stream_id = wanted.stream_id AND event.version = wanted.version)",
        )
        .bind(&transaction_ids)
        .bind(&positions)
        .bind(&streams)
        .bind(&versions)
        .fetch_all(pool)
        .await
        .context("looking up consistency tokens")?;
        wrong_tokens.extend(wrong.into_iter().map(|(position, stream)| format!("position {position} of {stream}")));
    }
    let passed = missing_commands.is_empty() && wrong_tokens.is_empty();
    let mut detail = format!(
        "{} accepted commands: {} without their event, {} whose token names no matching event, {} without a token (no change)",
        accepted.len(),
        missing_commands.len(),
        wrong_tokens.len(),
        without_token
    );
    if !passed {
        let examples: Vec<String> =
            missing_commands.iter().take(5).map(Uuid::to_string).chain(wrong_tokens.iter().take(5).cloned()).collect();
        detail.push_str(&format!("; for example {}", examples.join(", ")));
    }
    Ok(CheckOutcome::new("accepted commands are in the event store", passed, detail))
}

/// No event carries the command id of a refused command, neither in the `command_id` column nor in its metadata.
async fn refused_commands_left_no_event(pool: &PgPool, refused: &[RefusedCommand]) -> anyhow::Result<CheckOutcome> {
    let command_ids: Vec<Uuid> = refused.iter().map(|command| command.command_id).collect();
    let as_text: Vec<String> = command_ids.iter().map(Uuid::to_string).collect();
    let found: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT stream_id, version FROM event_store.events \
         WHERE command_id = ANY($1) OR metadata->>'command_id' = ANY($2) \
            OR metadata->'extra'->>'idempotency_key' = ANY($2)",
    )
    .bind(&command_ids)
    .bind(&as_text)
    .fetch_all(pool)
    .await
    .context("looking up refused commands")?;
    let expected = refused.iter().filter(|command| command.expected).count();
    let mut detail = format!(
        "{} refused commands ({} sent to be refused, {} others): {} events carry one of their command ids",
        refused.len(),
        expected,
        refused.len() - expected,
        found.len()
    );
    if let Some((stream, version)) = found.first() {
        detail.push_str(&format!("; for example version {version} of {stream}"));
    }
    Ok(CheckOutcome::new("refused commands left no event", found.is_empty(), detail))
}

async fn hash_chains_verify(store: &EventStore) -> anyhow::Result<CheckOutcome> {
    let report = store.verify(None).await.context("walking the hash chains")?;
    let detail = format!(
        "{} streams, {} events checked, {} broken streams{}",
        report.streams_checked,
        report.events_checked,
        report.failures.len(),
        report
            .failures
            .first()
            .map(|failure| format!(
                "; first: version {} of {} ({:?})",
                failure.version, failure.stream_id, failure.kind
            ))
            .unwrap_or_default()
    );
    Ok(CheckOutcome::new("per-stream hash chains verify", report.failures.is_empty(), detail))
}

async fn checkpoint(pool: &PgPool, name: &str) -> anyhow::Result<LogPosition> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT transaction_id, position FROM projections.checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await
            .with_context(|| format!("reading the checkpoint {name}"))?;
    Ok(row.map_or(LogPosition::START, |(transaction_id, position)| LogPosition::new(transaction_id as u64, position)))
}

/// Both projections' checkpoints reach the head of the log as it was when the check began.
async fn projections_catch_up(pool: &PgPool, store: &EventStore, timeout: Duration) -> anyhow::Result<CheckOutcome> {
    let head = store.head().await.context("reading the head of the log")?;
    let started = Instant::now();
    loop {
        let views = checkpoint(pool, "order_views").await?;
        let search = checkpoint(pool, "order_search").await?;
        if views.covers(&head) && search.covers(&head) {
            return Ok(CheckOutcome::new(
                "projections catch up with the log",
                true,
                format!("order_views and order_search reached {head} after {:.1} s", started.elapsed().as_secs_f64()),
            ));
        }
        if started.elapsed() >= timeout {
            return Ok(CheckOutcome::new(
                "projections catch up with the log",
                false,
                format!("after {} s: head {head}, order_views at {views}, order_search at {search}", timeout.as_secs()),
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The last version of every order stream.
async fn stream_versions(pool: &PgPool) -> anyhow::Result<HashMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT stream_id, max(version) FROM event_store.events WHERE stream_type = $1 GROUP BY stream_id",
    )
    .bind(schemas::ORDER_STREAM_TYPE)
    .fetch_all(pool)
    .await
    .context("reading the stream versions")?;
    Ok(rows.into_iter().collect())
}

fn compare(label: &str, streams: &HashMap<Uuid, i64>, seen: &HashMap<Uuid, i64>) -> (bool, String) {
    let missing: Vec<&Uuid> = streams.keys().filter(|id| !seen.contains_key(id)).collect();
    let extra: Vec<&Uuid> = seen.keys().filter(|id| !streams.contains_key(id)).collect();
    let wrong: Vec<(&Uuid, i64, i64)> = streams
        .iter()
        .filter_map(|(id, version)| seen.get(id).filter(|seen| *seen != version).map(|seen| (id, *version, *seen)))
        .collect();
    let passed = missing.is_empty() && extra.is_empty() && wrong.is_empty();
    let mut detail = format!(
        "{} orders in the store, {} {label}: {} missing, {} without a stream, {} at another version",
        streams.len(),
        seen.len(),
        missing.len(),
        extra.len(),
        wrong.len()
    );
    if let Some(id) = missing.first() {
        detail.push_str(&format!("; missing e.g. {id}"));
    }
    if let Some((id, version, seen)) = wrong.first() {
        detail.push_str(&format!("; {id} is at {seen}, its stream at {version}"));
    }
    (passed, detail)
}

async fn view_matches_streams(pool: &PgPool) -> anyhow::Result<CheckOutcome> {
    let streams = stream_versions(pool).await?;
    let rows: Vec<(Uuid, i64)> = sqlx::query_as("SELECT order_id, version FROM projections.order_summary")
        .fetch_all(pool)
        .await
        .context("reading the order summary view")?;
    let (passed, detail) = compare("rows in projections.order_summary", &streams, &rows.into_iter().collect());
    Ok(CheckOutcome::new("the order view has one row per order at its last version", passed, detail))
}

#[derive(Deserialize)]
struct SearchPage {
    hits: SearchPageHits,
}

#[derive(Deserialize)]
struct SearchPageHits {
    hits: Vec<SearchPageHit>,
}

#[derive(Deserialize)]
struct SearchPageHit {
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "_version")]
    version: i64,
    #[serde(default)]
    sort: Vec<serde_json::Value>,
}

/// Every order stream has exactly one search document, whose `_version` is the stream's last version.
async fn search_matches_streams(pool: &PgPool, elasticsearch_url: &str) -> anyhow::Result<CheckOutcome> {
    let base = elasticsearch_url.trim_end_matches('/');
    let alias = schemas::ELASTICSEARCH_ALIAS;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    http.post(format!("{base}/{alias}/_refresh"))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .context("refreshing the search index")?;
    let streams = stream_versions(pool).await?;
    let mut documents: HashMap<Uuid, i64> = HashMap::new();
    let mut duplicates = 0_u64;
    let mut after: Option<Vec<serde_json::Value>> = None;
    loop {
        let mut body = serde_json::json!({
            "size": 5_000,
            "_source": false,
            "version": true,
            "track_total_hits": false,
            "sort": [{ "order_id": "asc" }],
            "query": { "match_all": {} },
        });
        if let Some(after) = &after {
            body["search_after"] = serde_json::Value::Array(after.clone());
        }
        let page: SearchPage = http
            .post(format!("{base}/{alias}/_search"))
            .json(&body)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .context("paging through the search index")?
            .json()
            .await
            .context("decoding a search page")?;
        let Some(last) = page.hits.hits.last() else { break };
        after = Some(last.sort.clone());
        for hit in page.hits.hits {
            let id =
                Uuid::parse_str(&hit.id).with_context(|| format!("search document id {:?} is not a uuid", hit.id))?;
            if documents.insert(id, hit.version).is_some() {
                duplicates += 1;
            }
        }
    }
    let (passed, mut detail) = compare("search documents", &streams, &documents);
    detail.push_str(&format!(", {duplicates} duplicate ids"));
    Ok(CheckOutcome::new(
        "the search index has one document per order at its last version",
        passed && duplicates == 0,
        detail,
    ))
}

async fn nothing_parked(pool: &PgPool) -> anyhow::Result<CheckOutcome> {
    let (dead_letters, parked): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM projections.dead_letters WHERE resolved_at IS NULL), \
                (SELECT count(*) FROM projections.parked_orders)",
    )
    .fetch_one(pool)
    .await
    .context("counting dead letters and parked orders")?;
    Ok(CheckOutcome::new(
        "no dead letters or parked orders",
        dead_letters == 0 && parked == 0,
        format!("{dead_letters} unresolved dead letters, {parked} parked orders"),
    ))
}
