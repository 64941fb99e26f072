//! Zero-downtime rebuilds from the event store: fill a shadow copy (view tables `..._rebuild`, or a new
//! search index) in large batches while the live projection keeps serving, then, holding the live
//! projection's checkpoint lock, apply the last events and swap in one short transaction (rename tables,
//! or move the alias), moving the checkpoint with it. The old copy is kept (`..._retired`, old index)
//! until the next rebuild or an explicit drop.

use std::time::{Duration, Instant};

use event_store::LogPosition;
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::ledger;
use crate::maintenance::MaintenanceLock;
use crate::projector::{CatchUpReport, Projector, ProjectorOptions, ORDER_SEARCH, ORDER_VIEWS};
use crate::search::SearchIndex;
use crate::tables::{ViewTables, VIEW_TABLES};

/// What a rebuild did.
#[derive(Debug, Clone, PartialEq)]
pub struct RebuildReport {
    /// The bulk fill (before taking the live lock).
    pub fill: CatchUpReport,
    /// Events applied while holding the live lock, just before the swap.
    pub final_events: u64,
    /// The checkpoint the live projection continues from.
    pub checkpoint: LogPosition,
    /// What was swapped out: the suffix of the retired tables, or the old index name.
    pub retired: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
}

const VIEWS_REBUILD: &str = "order_views_rebuild";
const SEARCH_REBUILD: &str = "order_search_rebuild";
const REBUILD_SUFFIX: &str = "_rebuild";
const RETIRED_SUFFIX: &str = "_retired";

fn rebuild_options() -> ProjectorOptions {
    ProjectorOptions { catch_up_batch_size: 10_000, ..ProjectorOptions::default() }
}

/// The bulk fill of a shadow copy, given up with [`Error::ShutDown`] when `stop` is cancelled first.
/// Giving up is safe at any point of the fill: each batch commits on its own, the shadow is not served,
/// and the next rebuild starts it afresh.
async fn fill_shadow(
    projector: &Projector,
    progress: &mut impl FnMut(&CatchUpReport),
    stop: &CancellationToken,
) -> Result<CatchUpReport, Error> {
    tokio::select! {
        biased;
        () = stop.cancelled() => Err(Error::ShutDown),
        fill = projector.catch_up_with(None, progress) => fill,
    }
}

/// Forgets the checkpoint, parked orders and dead letters recorded under `name`: what an earlier,
/// unfinished rebuild or verification left under its working name. Never call it with a live projection's name.
pub async fn forget_projection(connection: &mut PgConnection, name: &str) -> Result<(), Error> {
    for statement in [
        "DELETE FROM projections.checkpoints WHERE name = $1",
        "DELETE FROM projections.parked_orders WHERE projection = $1",
        "DELETE FROM projections.dead_letters WHERE projection = $1",
    ] {
        sqlx::query(statement).bind(name).execute(&mut *connection).await?;
    }
    Ok(())
}

/// Hands the rebuild's checkpoint, parked orders and dead letters to the live projection (inside the swap).
async fn hand_over_bookkeeping(connection: &mut PgConnection, rebuild: &str, live: &str) -> Result<LogPosition, Error> {
    let checkpoint = ledger::lock_checkpoint(connection, rebuild).await?;
    ledger::store_checkpoint(connection, live, checkpoint).await?;
    sqlx::query("DELETE FROM projections.parked_orders WHERE projection = $1")
        .bind(live)
        .execute(&mut *connection)
        .await?;
    sqlx::query("UPDATE projections.parked_orders SET projection = $2 WHERE projection = $1")
        .bind(rebuild)
        .bind(live)
        .execute(&mut *connection)
        .await?;
    sqlx::query("DELETE FROM projections.dead_letters WHERE projection = $1 AND resolved_at IS NULL")
        .bind(live)
        .execute(&mut *connection)
        .await?;
    sqlx::query(
        "UPDATE projections.dead_letters AS d SET projection = $2 WHERE d.projection = $1 AND NOT EXISTS \
         (SELECT 1 FROM projections.dead_letters l WHERE l.projection = $2 AND l.event_id = d.event_id)",
    )
    .bind(rebuild)
    .bind(live)
    .execute(&mut *connection)
    .await?;
    forget_projection(connection, rebuild).await?;
    Ok(checkpoint)
}

/// Rebuilds the four Postgres view tables from the event store without emptying them for readers.
///
/// Fills `projections.*_rebuild` from position 0 in batches of 10 000 events (each order folded in memory,
/// each row written once per batch), then locks the live `order_views` checkpoint (the live projector
/// pauses between two batches), applies the events that arrived meanwhile, and in one transaction renames
/// the live tables to `*_retired`, the rebuilt ones to the live names, and moves the checkpoint.
/// `progress` is called after every batch of the fill. Run it as the role that owns the live tables.
pub async fn rebuild_postgres_views(
    pool: &PgPool,
    progress: impl FnMut(&CatchUpReport),
) -> Result<RebuildReport, Error> {
    rebuild_views_until(pool, progress, &CancellationToken::new()).await
}

async fn rebuild_views_until(
    pool: &PgPool,
    mut progress: impl FnMut(&CatchUpReport),
    stop: &CancellationToken,
) -> Result<RebuildReport, Error> {
    let started = Instant::now();
    let shadow = ViewTables::shadow(REBUILD_SUFFIX)?;
    let retired = ViewTables::shadow(RETIRED_SUFFIX)?;
    {
        let mut transaction = pool.begin().await?;
        retired.drop_tables(&mut transaction).await?;
        shadow.create_empty(&mut transaction).await?;
        forget_projection(&mut transaction, VIEWS_REBUILD).await?;
        transaction.commit().await?;
    }
    let projector = Projector::order_views(pool.clone())
        .with_name(VIEWS_REBUILD)
        .with_tables(shadow.clone())
        .with_options(rebuild_options());
    let fill = fill_shadow(&projector, &mut progress, stop).await?;

    let mut swap = pool.begin().await?;
    sqlx::query("SET LOCAL lock_timeout = '10s'").execute(&mut *swap).await?;
    ledger::lock_checkpoint(&mut swap, ORDER_VIEWS).await?;
    let last = projector.catch_up(None).await?;
    for base in VIEW_TABLES {
        let index_names = matching_indexes(&mut swap, &shadow.table(base), &format!("projections.{base}")).await?;
        sqlx::query(&format!("ALTER TABLE projections.{base} RENAME TO {base}{RETIRED_SUFFIX}"))
            .execute(&mut *swap)
            .await?;
        sqlx::query(&format!("ALTER TABLE {} RENAME TO {base}", shadow.table(base))).execute(&mut *swap).await?;
        // Renaming a table keeps its index (and key constraint) names: without this, every rebuild would
        // leave the live table with `..._rebuild_pkey`-style names, and the next one with `..._pkey1`.
        for (shadow_index, live_index) in index_names {
            rename_index(&mut swap, &live_index, &retired_index_name(&live_index)).await?;
            rename_index(&mut swap, &shadow_index, &live_index).await?;
        }
    }
    let checkpoint = hand_over_bookkeeping(&mut swap, VIEWS_REBUILD, ORDER_VIEWS).await?;
    swap.commit().await?;
    tracing::info!(events = fill.events_read + last.events_read, checkpoint = %checkpoint, "rebuilt the Postgres views");
    Ok(RebuildReport {
        fill,
        final_events: last.events_read,
        checkpoint,
        retired: Some(RETIRED_SUFFIX.to_owned()),
        elapsed: started.elapsed(),
    })
}

/// Pairs each index of `shadow` with the index of `live` that has the same definition (the shadow tables are
/// created `LIKE` the live ones, so every index has its twin): `(shadow index, live index)` names.
async fn matching_indexes(
    connection: &mut PgConnection,
    shadow: &str,
    live: &str,
) -> Result<Vec<(String, String)>, Error> {
    let pairs: Vec<(String, String)> = sqlx::query_as(
        "WITH definitions AS ( \
             SELECT i.indrelid, c.relname::text AS name, i.indisunique, \
                    regexp_replace(pg_get_indexdef(i.indexrelid), '^.* USING ', '') AS definition \
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
              WHERE i.indrelid IN ($1::regclass, $2::regclass)) \
         SELECT s.name, l.name FROM definitions s JOIN definitions l USING (indisunique, definition) \
          WHERE s.indrelid = $1::regclass AND l.indrelid = $2::regclass AND s.name <> l.name \
          ORDER BY l.name",
    )
    .bind(shadow)
    .bind(live)
    .fetch_all(&mut *connection)
    .await?;
    Ok(pairs)
}

/// The name a retired table's index gets: the live name with the retired suffix, within Postgres' 63 bytes.
fn retired_index_name(live_index: &str) -> String {
    let room = 63 - RETIRED_SUFFIX.len();
    let mut end = live_index.len().min(room);
    while !live_index.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{RETIRED_SUFFIX}", &live_index[..end])
}

async fn rename_index(connection: &mut PgConnection, from: &str, to: &str) -> Result<(), Error> {
    sqlx::query(&format!("ALTER INDEX projections.{} RENAME TO {}", quoted(from), quoted(to)))
        .execute(&mut *connection)
        .await?;
    Ok(())
}

fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// Drops the tables a rebuild retired (`projections.*_retired`).
pub async fn drop_retired_views(pool: &PgPool) -> Result<(), Error> {
    let mut connection = pool.acquire().await?;
    ViewTables::shadow(RETIRED_SUFFIX)?.drop_tables(&mut connection).await
}

/// Rebuilds the search index from the event store without emptying the alias for readers.
///
/// Creates a new concrete index (refresh off, no replicas), fills it from position 0 in batches, restores
/// its refresh interval and refreshes it, then locks the live `order_search` checkpoint, applies the
/// events that arrived meanwhile, moves the alias in one atomic `_aliases` request and moves the checkpoint.
/// The old index is kept; its name is in [`RebuildReport::retired`] (delete it with [`SearchIndex::delete_index`]).
pub async fn rebuild_search_index(
    pool: &PgPool,
    index: &SearchIndex,
    progress: impl FnMut(&CatchUpReport),
) -> Result<RebuildReport, Error> {
    rebuild_search_until(pool, index, progress, &CancellationToken::new()).await
}

async fn rebuild_search_until(
    pool: &PgPool,
    index: &SearchIndex,
    mut progress: impl FnMut(&CatchUpReport),
    stop: &CancellationToken,
) -> Result<RebuildReport, Error> {
    let started = Instant::now();
    let old_index = index.aliased_index().await?;
    let new_index = index.new_index_name();
    index.create_index(&new_index, "-1").await?;
    {
        let mut connection = pool.acquire().await?;
        forget_projection(&mut connection, SEARCH_REBUILD).await?;
    }
    let projector = Projector::order_search(pool.clone(), index.clone())
        .with_search_index(index.writing_to_index(&new_index))
        .with_name(SEARCH_REBUILD)
        .with_options(rebuild_options());
    let fill = match fill_shadow(&projector, &mut progress, stop).await {
        Ok(fill) => fill,
        Err(error) => {
            // Best effort: an index left here is removed by the next rebuild's leftover sweep anyway.
            if let Err(cleanup) = index.delete_index(&new_index).await {
                tracing::warn!(index = %new_index, error = %cleanup, "the unfinished index stays until the next rebuild");
            }
            return Err(error);
        }
    };
    index.finish_index(&new_index).await?;

    let mut swap = pool.begin().await?;
    ledger::lock_checkpoint(&mut swap, ORDER_SEARCH).await?;
    let last = projector.catch_up(None).await?;
    index.refresh(&new_index).await?;
    index.move_alias(old_index.as_deref(), &new_index).await?;
    let checkpoint = hand_over_bookkeeping(&mut swap, SEARCH_REBUILD, ORDER_SEARCH).await?;
    swap.commit().await?;
    tracing::info!(events = fill.events_read + last.events_read, checkpoint = %checkpoint, index = %new_index,
        "rebuilt the search index");
    Ok(RebuildReport {
        fill,
        final_events: last.events_read,
        checkpoint,
        retired: old_index,
        elapsed: started.elapsed(),
    })
}

/// A projection to rebuild: the Postgres views, or the search index behind an alias.
#[derive(Debug, Clone)]
pub enum RebuildTarget {
    /// The four view tables of [`ORDER_VIEWS`].
    Views,
    /// The index of [`ORDER_SEARCH`] behind this handle's alias.
    Search(SearchIndex),
}

impl RebuildTarget {
    /// The projection's name.
    pub fn projection(&self) -> &'static str {
        match self {
            RebuildTarget::Views => ORDER_VIEWS,
            RebuildTarget::Search(_) => ORDER_SEARCH,
        }
    }
}

/// What a complete maintenance rebuild did ([`rebuild_projection`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RebuildOutcome {
    /// The rebuild and swap.
    pub report: RebuildReport,
    /// Whether the swapped-out copy was dropped (false with `keep_old`, or when there was none).
    pub old_copy_dropped: bool,
    /// Leftovers of interrupted runs removed before the rebuild (orphaned search indices).
    pub leftovers_removed: Vec<String>,
}

/// The whole rebuild job as operators and the projector service run it: takes the projection's
/// [`MaintenanceLock`] (failing with [`Error::Busy`] while another job runs), removes what interrupted
/// runs left behind, rebuilds and swaps, drops the swapped-out copy unless `keep_old`, and releases the lock.
///
/// Killing the process at any moment leaves the live projection untouched; running this again starts
/// clean and ends in the same state.
pub async fn rebuild_projection(
    pool: &PgPool,
    target: &RebuildTarget,
    keep_old: bool,
    progress: impl FnMut(&CatchUpReport),
) -> Result<RebuildOutcome, Error> {
    rebuild_projection_until(pool, target, keep_old, progress, &CancellationToken::new()).await
}

/// [`rebuild_projection`] for a process that shuts down gracefully: cancelling `stop` during the fill
/// ends the job with [`Error::ShutDown`] and the live projection untouched. Once the swap has begun the job
/// runs to its end (swap, then drop of the old copy), so a shutdown never leaves a swap half done or an
/// unaliased index behind.
pub async fn rebuild_projection_until(
    pool: &PgPool,
    target: &RebuildTarget,
    keep_old: bool,
    progress: impl FnMut(&CatchUpReport),
    stop: &CancellationToken,
) -> Result<RebuildOutcome, Error> {
    let lock = MaintenanceLock::acquire(pool, target.projection()).await?;
    let outcome = rebuild_locked(pool, target, keep_old, progress, stop).await;
    lock.release().await;
    outcome
}

async fn rebuild_locked(
    pool: &PgPool,
    target: &RebuildTarget,
    keep_old: bool,
    progress: impl FnMut(&CatchUpReport),
    stop: &CancellationToken,
) -> Result<RebuildOutcome, Error> {
    match target {
        RebuildTarget::Views => {
            let report = rebuild_views_until(pool, progress, stop).await?;
            if !keep_old {
                drop_retired_views(pool).await?;
            }
            Ok(RebuildOutcome { report, old_copy_dropped: !keep_old, leftovers_removed: Vec::new() })
        }
        RebuildTarget::Search(index) => {
            let leftovers_removed = index.delete_unaliased_indices().await?;
            let report = rebuild_search_until(pool, index, progress, stop).await?;
            let old_copy_dropped = match (&report.retired, keep_old) {
                (Some(old_index), false) => {
                    index.delete_index(old_index).await?;
                    true
                }
                _ => false,
            };
            Ok(RebuildOutcome { report, old_copy_dropped, leftovers_removed })
        }
    }
}
