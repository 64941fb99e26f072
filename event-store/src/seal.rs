//! Seals: what the hash chains cannot show from inside the database.
//!
//! Deleting the newest events of a stream (with the guard triggers disabled by someone who can) leaves a
//! shorter chain that still verifies. A seal records, outside the database, the head (version and hash) of
//! every stream that changed in a stretch of the global log; checking the sealed heads later finds such a
//! deletion, and a rewritten chain, as a head that is missing or has another hash.
//! Publishing and storing the seals is the relay's job; this module only reads the store.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ReadError;
use crate::position::LogPosition;
use crate::store::EventStore;
use crate::types::hex_hash;

/// Most heads checked with one query.
const CHECK_BATCH: usize = 5_000;

/// The newest event of one stream at the end of a sealed stretch of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamHead {
    /// The stream id.
    pub stream_id: Uuid,
    /// The stream's version at the end of the stretch.
    pub version: i64,
    /// The hash of the event at that version, hex-encoded.
    #[serde(with = "hex_hash")]
    pub hash: [u8; 32],
}

/// A sealed head the store no longer matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeadMismatch {
    /// What the seal recorded.
    pub sealed: StreamHead,
    /// What the store has instead.
    pub found: HeadFound,
}

/// The store's side of a [`HeadMismatch`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HeadFound {
    /// The sealed version is gone: the stream now ends at `stream_version` (0: no events at all).
    Missing {
        /// The stream's current version.
        stream_version: i64,
    },
    /// The event at the sealed version has another hash: the chain up to it was rewritten.
    OtherHash {
        /// The stored hash, hex-encoded.
        #[serde(with = "hex_hash")]
        hash: [u8; 32],
    },
}

impl EventStore {
    /// The head of every stream that has an event in the stretch `(after, through]` of the global log,
    /// in stream id order. `through` should be a position a gap-safe reader has reached (a checkpoint),
    /// so that no later commit can still add an event inside the stretch.
    #[tracing::instrument(skip_all, fields(after = %after, through = %through), err(level = "debug"))]
    pub async fn stream_heads_between(
        &self,
        after: LogPosition,
        through: LogPosition,
    ) -> Result<Vec<StreamHead>, ReadError> {
        let rows: Vec<(Uuid, i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT DISTINCT ON (stream_id) stream_id, version, global_position, hash FROM event_store.events \
             WHERE (transaction_id, global_position) > ($1::text::xid8, $2) \
               AND (transaction_id, global_position) <= ($3::text::xid8, $4) \
             ORDER BY stream_id, version DESC",
        )
        .bind(after.transaction_id.to_string())
        .bind(after.position)
        .bind(through.transaction_id.to_string())
        .bind(through.position)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(stream_id, version, global_position, hash)| {
                let hash = stored_hash(&hash, global_position)?;
                Ok(StreamHead { stream_id, version, hash })
            })
            .collect()
    }

    /// Checks sealed heads against the store: every one must still be there with the same hash. Returns
    /// the heads that are not, in the order given. With an intact hash chain (see [`EventStore::verify`])
    /// a matching head vouches for every earlier event of its stream.
    #[tracing::instrument(skip_all, fields(heads = heads.len()), err(level = "debug"))]
    pub async fn check_heads(&self, heads: &[StreamHead]) -> Result<Vec<HeadMismatch>, ReadError> {
        let mut mismatches = Vec::new();
        for chunk in heads.chunks(CHECK_BATCH) {
            let stream_ids: Vec<Uuid> = chunk.iter().map(|head| head.stream_id).collect();
            let versions: Vec<i64> = chunk.iter().map(|head| head.version).collect();
            let rows: Vec<(Option<i64>, Option<Vec<u8>>, i64)> = sqlx::query_as(
                "SELECT e.global_position, e.hash, \
                        coalesce((SELECT max(version) FROM event_store.events s WHERE s.stream_id = h.stream_id), 0) \
                   FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS h(stream_id, version, ordinal) \
                   LEFT JOIN event_store.events e ON e.stream_id = h.stream_id AND e.version = h.version \
                  ORDER BY h.ordinal",
            )
            .bind(&stream_ids)
            .bind(&versions)
            .fetch_all(&self.pool)
            .await?;
            for (sealed, (global_position, hash, stream_version)) in chunk.iter().zip(rows) {
                let found = match (global_position, hash) {
                    (Some(global_position), Some(hash)) => {
                        let hash = stored_hash(&hash, global_position)?;
                        if hash == sealed.hash {
                            continue;
                        }
                        HeadFound::OtherHash { hash }
                    }
                    _ => HeadFound::Missing { stream_version },
                };
                mismatches.push(HeadMismatch { sealed: sealed.clone(), found });
            }
        }
        Ok(mismatches)
    }
}

fn stored_hash(bytes: &[u8], global_position: i64) -> Result<[u8; 32], ReadError> {
    bytes.try_into().map_err(|_| ReadError::Decode {
        global_position,
        reason: format!("the hash is {} bytes, not 32", bytes.len()),
    })
}
