//! Bookkeeping in schema `projections`: checkpoints (the `(xid8, position)` pair of the global log),
//! dead letters and parked orders. Every function that changes them runs inside the caller's transaction,
//! so a checkpoint moves together with the view change it stands for.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use event_store::LogPosition;
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::envelope::EventEnvelope;
use crate::error::Error;

/// Reads a checkpoint without locking it ([`LogPosition::START`] when the reader never stored one).
///
/// `projections::read_checkpoint(&pool, "order_views")?.covers(&token)` is the read-your-writes check.
pub async fn read_checkpoint(pool: &PgPool, name: &str) -> Result<LogPosition, Error> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT transaction_id, position FROM projections.checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?;
    Ok(row.map_or(LogPosition::START, to_position))
}

/// Takes the projection's lock for the rest of the transaction and returns its checkpoint.
/// Every writer of a projection (live projector, catch-up, retry, rebuild swap) takes this lock first,
/// which serialises them.
///
/// The lock is a transaction-level advisory lock rather than `SELECT ... FOR UPDATE`: a row lock gives the
/// transaction an xid at once, and an open transaction with an xid holds back every gap-safe reader of the
/// event store (the relay included) until it ends. With the advisory lock the transaction only gets an xid
/// when it writes, at the end of a batch, so a search batch waiting for its refresh holds nobody back.
pub(crate) async fn lock_checkpoint(connection: &mut PgConnection, name: &str) -> Result<LogPosition, Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(advisory_lock_key(&format!("projection:{name}")))
        .execute(&mut *connection)
        .await?;
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT transaction_id, position FROM projections.checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *connection)
            .await?;
    Ok(row.map_or(LogPosition::START, to_position))
}

/// Takes a projection's lock for the rest of `transaction` and returns its checkpoint.
///
/// While the lock is held the projection's writers (live projector, catch-up, retry, rebuild swap) wait
/// before their next batch, so the views and the checkpoint stay as they are; the lock is released when
/// the transaction ends. It is a transaction-level advisory lock, so holding it does not give the
/// transaction an xid and does not hold back readers of the event store.
pub async fn lock_projection(transaction: &mut PgConnection, name: &str) -> Result<LogPosition, Error> {
    lock_checkpoint(transaction, name).await
}

/// A stable 64-bit advisory lock key for a name (FNV-1a).
pub(crate) fn advisory_lock_key(name: &str) -> i64 {
    let hash = name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3));
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// Stores a checkpoint (inside the transaction that holds its lock).
pub(crate) async fn store_checkpoint(
    connection: &mut PgConnection,
    name: &str,
    position: LogPosition,
) -> Result<(), Error> {
    sqlx::query(
        "INSERT INTO projections.checkpoints (name, transaction_id, position, updated_at) VALUES ($1, $2, $3, now()) \
         ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position, \
           updated_at = EXCLUDED.updated_at",
    )
    .bind(name)
    .bind(transaction_id_column(position))
    .bind(position.position)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

fn to_position((transaction_id, position): (i64, i64)) -> LogPosition {
    LogPosition::new(u64::try_from(transaction_id).unwrap_or(0), position)
}

/// xid8 values stay far below `i64::MAX` (epoch << 32 | xid), so the bigint column holds them.
pub(crate) fn transaction_id_column(position: LogPosition) -> i64 {
    i64::try_from(position.transaction_id).unwrap_or(i64::MAX)
}

/// Which of `order_ids` are parked for `projection`.
pub(crate) async fn parked_among(
    connection: &mut PgConnection,
    projection: &str,
    order_ids: &[Uuid],
) -> Result<HashSet<Uuid>, Error> {
    if order_ids.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<(Uuid,)> =
        sqlx::query_as("SELECT order_id FROM projections.parked_orders WHERE projection = $1 AND order_id = ANY($2)")
            .bind(projection)
            .bind(order_ids)
            .fetch_all(&mut *connection)
            .await?;
    Ok(rows.into_iter().map(|(order_id,)| order_id).collect())
}

/// An event a projection gave up on.
#[derive(Debug, Clone)]
pub(crate) struct DeadLetter {
    pub(crate) event: EventEnvelope,
    pub(crate) error: String,
    pub(crate) attempts: u32,
}

/// Records a dead letter and parks its order from the event's version on.
pub(crate) async fn dead_letter_and_park(
    connection: &mut PgConnection,
    projection: &str,
    letter: &DeadLetter,
) -> Result<(), Error> {
    let event = &letter.event;
    sqlx::query(
        "INSERT INTO projections.dead_letters (projection, event_id, order_id, stream_version, transaction_id, \
           global_position, event_type, schema_version, payload, error, attempts) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (projection, event_id) DO UPDATE SET error = EXCLUDED.error, \
           attempts = projections.dead_letters.attempts + EXCLUDED.attempts, failed_at = now(), resolved_at = NULL",
    )
    .bind(projection)
    .bind(event.event_id)
    .bind(event.stream_id)
    .bind(event.version)
    .bind(transaction_id_column(event.log_position))
    .bind(event.log_position.position)
    .bind(&event.event_type)
    .bind(event.schema_version)
    .bind(&event.payload)
    .bind(&letter.error)
    .bind(i32::try_from(letter.attempts).unwrap_or(i32::MAX))
    .execute(&mut *connection)
    .await?;
    sqlx::query(
        "INSERT INTO projections.parked_orders (projection, order_id, from_version, event_id, reason) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (projection, order_id) DO UPDATE SET from_version = EXCLUDED.from_version, \
           event_id = EXCLUDED.event_id, reason = EXCLUDED.reason, parked_at = now()",
    )
    .bind(projection)
    .bind(event.stream_id)
    .bind(event.version)
    .bind(event.event_id)
    .bind(&letter.error)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Unparks an order and marks its dead letters resolved.
pub(crate) async fn unpark(connection: &mut PgConnection, projection: &str, order_id: Uuid) -> Result<(), Error> {
    sqlx::query("DELETE FROM projections.parked_orders WHERE projection = $1 AND order_id = $2")
        .bind(projection)
        .bind(order_id)
        .execute(&mut *connection)
        .await?;
    sqlx::query(
        "UPDATE projections.dead_letters SET resolved_at = now() \
         WHERE projection = $1 AND order_id = $2 AND resolved_at IS NULL",
    )
    .bind(projection)
    .bind(order_id)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// A parked order: its views stop before `from_version` until it is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedOrder {
    /// The order.
    pub order_id: Uuid,
    /// The first stream version not applied.
    pub from_version: i64,
    /// The dead-lettered event.
    pub event_id: Uuid,
    /// Why it was parked.
    pub reason: String,
    /// When.
    pub parked_at: DateTime<Utc>,
}

/// The parked orders of a projection, oldest first.
pub async fn parked_orders(pool: &PgPool, projection: &str) -> Result<Vec<ParkedOrder>, Error> {
    let rows = sqlx::query(
        "SELECT order_id, from_version, event_id, reason, parked_at FROM projections.parked_orders \
         WHERE projection = $1 ORDER BY parked_at, order_id",
    )
    .bind(projection)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(ParkedOrder {
                order_id: row.try_get("order_id")?,
                from_version: row.try_get("from_version")?,
                event_id: row.try_get("event_id")?,
                reason: row.try_get("reason")?,
                parked_at: row.try_get("parked_at")?,
            })
        })
        .collect()
}

/// Counts of a projection's trouble: parked orders and unresolved dead letters.
pub(crate) async fn trouble_counts(pool: &PgPool, projection: &str) -> Result<(i64, i64), Error> {
    let row: (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM projections.parked_orders WHERE projection = $1), \
                (SELECT count(*) FROM projections.dead_letters WHERE projection = $1 AND resolved_at IS NULL)",
    )
    .bind(projection)
    .fetch_one(pool)
    .await?;
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_keys_are_stable_and_differ_per_name() {
        assert_eq!(advisory_lock_key("relay:ORDER_EVENTS"), advisory_lock_key("relay:ORDER_EVENTS"));
        assert_ne!(advisory_lock_key("relay:ORDER_EVENTS"), advisory_lock_key("relay:TEST_1"));
        assert_ne!(advisory_lock_key("projection:order_views"), advisory_lock_key("projection:order_search"));
    }
}
