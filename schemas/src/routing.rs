//! Stable names that put order events on NATS subjects and in Elasticsearch indices.
//!
//! These strings are part of the contract: consumers subscribe and query by them, so they never change in place.

use uuid::Uuid;

/// Stream type of every order stream in the event store; the stream id is the order uuid.
pub const ORDER_STREAM_TYPE: &str = "order";

/// JetStream stream that holds all published order events.
pub const NATS_STREAM_NAME: &str = "ORDER_EVENTS";

/// Prefix of every order event subject: `orders.v1.p<NN>.<order_id>.<event name>`.
pub const NATS_SUBJECT_PREFIX: &str = "orders.v1";

/// Subject filter that matches every order event of this subject version.
pub const NATS_SUBJECT_WILDCARD: &str = "orders.v1.>";

/// Number of subject partitions; fixed forever, because changing it would move orders between partitions.
pub const PARTITION_COUNT: u8 = 16;

/// Elasticsearch alias that readers and the live projector use.
pub const ELASTICSEARCH_ALIAS: &str = "orders";

/// Prefix of the concrete Elasticsearch indices behind [`ELASTICSEARCH_ALIAS`] (for example `orders-v1-20260101`).
pub const ELASTICSEARCH_INDEX_PREFIX: &str = "orders-v1";

/// Partition (0..16) of an order: 32-bit FNV-1a over the 16 bytes of the uuid, modulo [`PARTITION_COUNT`].
///
/// FNV-1a over all bytes is used rather than the leading bytes because UUID v7 starts with a timestamp,
/// which would put orders created at the same time into the same partition.
pub fn partition_of(order_id: Uuid) -> u8 {
    const FNV_OFFSET_BASIS: u32 = 0x811c_9dc5;
    const FNV_PRIME: u32 = 0x0100_0193;
    let hash = order_id
        .as_bytes()
        .iter()
        .fold(FNV_OFFSET_BASIS, |hash, byte| (hash ^ u32::from(*byte)).wrapping_mul(FNV_PRIME));
    // The remainder is below 16, so it always fits in a u8.
    (hash % u32::from(PARTITION_COUNT)) as u8
}

/// Subject on which an event of an order is published: `orders.v1.p<NN>.<order_id>.<event name>`.
///
/// The event name is the event type without its `order.` prefix (`order.placed` becomes `placed`),
/// so that every subject has exactly five tokens and `orders.v1.*.*.placed` selects one event type.
/// Any other dot in an event type is replaced by `_` for the same reason.
pub fn subject_for(order_id: Uuid, event_type: &str) -> String {
    let event_name = event_type.strip_prefix("order.").unwrap_or(event_type).replace('.', "_");
    format!("{NATS_SUBJECT_PREFIX}.p{:02}.{}.{event_name}", partition_of(order_id), order_id.as_hyphenated())
}

/// Subject filter for one partition (`orders.v1.p07.>`), for a consumer that owns that partition.
pub fn subject_filter_for_partition(partition: u8) -> String {
    format!("{NATS_SUBJECT_PREFIX}.p{partition:02}.>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_is_stable_for_a_known_uuid() {
        let order_id = Uuid::parse_str("0190f5d2-7c3a-7b8e-9a41-2f6d8c1e5b07").unwrap();
        // Pinned value: if this changes, every deployed consumer reads the wrong partition.
        assert_eq!(partition_of(order_id), 9);
        assert_eq!(partition_of(Uuid::nil()), 5);
    }

    #[test]
    fn partitions_spread_over_all_sixteen_values() {
        let mut seen = [false; 16];
        for index in 0u128..512 {
            seen[usize::from(partition_of(Uuid::from_u128(index * 7919)))] = true;
        }
        assert!(seen.iter().all(|hit| *hit));
    }

    #[test]
    fn subject_has_five_tokens_with_a_two_digit_partition() {
        let order_id = Uuid::nil();
        let subject = subject_for(order_id, "order.item_added");
        assert_eq!(subject, "orders.v1.p05.00000000-0000-0000-0000-000000000000.item_added");
        assert_eq!(subject.split('.').count(), 5);
        assert_eq!(subject_filter_for_partition(3), "orders.v1.p03.>");
    }
}
