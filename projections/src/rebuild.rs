//! Zero-downtime rebuilds from the event store: fill a shadow copy (view tables `..._rebuild`, or a new
//! search index) in large batches while the live projection keeps serving, then, holding the live
//! projection's checkpoint lock, apply the last events and swap in one short transaction (rename tables,
//! or move the alias), moving the checkpoint with it. The old copy is kept (`..._retired`, old index)
//! until the next rebuild or an explicit drop.

use std::time::{Duration, Instant};

use event_store::LogPosition;
use sqlx::{PgConnection, PgPool};

use crate::error::Error;
use crate::ledger;
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

/// Forgets what an earlier, unfinished rebuild left under `name`.
async fn reset_rebuild_bookkeeping(connection: &mut PgConnection, name: &str) -> Result<(), Error> {
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
    sqlx::query("DELETE FROM projections.parked_orders WHERE projection = $1").bind(live).execute(&mut *connection).await?;
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
    reset_rebuild_bookkeeping(connection, rebuild).await?;
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
    mut progress: impl FnMut(&CatchUpReport),
) -> Result<RebuildReport, Error> {
    let started = Instant::now();
    let shadow = ViewTables::shadow(REBUILD_SUFFIX)?;
    let retired = ViewTables::shadow(RETIRED_SUFFIX)?;
    {
        let mut transaction = pool.begin().await?;
        retired.drop_tables(&mut transaction).await?;
        shadow.create_empty(&mut transaction).await?;
        reset_rebuild_bookkeeping(&mut transaction, VIEWS_REBUILD).await?;
        transaction.commit().await?;
    }
    let projector = Projector::order_views(pool.clone())
        .with_name(VIEWS_REBUILD)
        .with_tables(shadow.clone())
        .with_options(rebuild_options());
    let fill = projector.catch_up_with(None, &mut progress).await?;

    let mut swap = pool.begin().await?;
    sqlx::query("SET LOCAL lock_timeout = '10s'").execute(&mut *swap).await?;
    ledger::lock_checkpoint(&mut swap, ORDER_VIEWS).await?;
    let last = projector.catch_up(None).await?;
    for base in VIEW_TABLES {
        sqlx::query(&format!("ALTER TABLE projections.{base} RENAME TO {base}{RETIRED_SUFFIX}")).execute(&mut *swap).await?;
        sqlx::query(&format!("ALTER TABLE {} RENAME TO {base}", shadow.table(base))).execute(&mut *swap).await?;
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
    mut progress: impl FnMut(&CatchUpReport),
) -> Result<RebuildReport, Error> {
    let started = Instant::now();
    let old_index = index.aliased_index().await?;
    let new_index = index.new_index_name();
    index.create_index(&new_index, "-1").await?;
    {
        let mut connection = pool.acquire().await?;
        reset_rebuild_bookkeeping(&mut connection, SEARCH_REBUILD).await?;
    }
    let projector = Projector::order_search(pool.clone(), index.clone())
        .with_search_index(index.writing_to_index(&new_index))
        .with_name(SEARCH_REBUILD)
        .with_options(rebuild_options());
    let fill = projector.catch_up_with(None, &mut progress).await?;
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
    Ok(RebuildReport { fill, final_events: last.events_read, checkpoint, retired: old_index, elapsed: started.elapsed() })
}
