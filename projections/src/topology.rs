//! The JetStream side of the fan-out: which stream, which subjects, and how each projection's durable
//! consumer is configured. Only APIs that nats-server 2.9 honours are used (one filter subject per consumer).

use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use uuid::Uuid;

/// Names and limits of the JetStream stream the relay publishes to and the projectors consume.
///
/// Production uses [`NatsTopology::default`] (`ORDER_EVENTS`, subjects `orders.v1.>`); tests use their own
/// stream name and subject prefix so they never see each other's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsTopology {
    /// Stream name, for example `ORDER_EVENTS`.
    pub stream_name: String,
    /// Subject prefix, for example `orders.v1`; subjects are `<prefix>.p<NN>.<order_id>.<event name>`.
    pub subject_prefix: String,
    /// How long the stream keeps messages (Postgres stays the source for anything older).
    pub max_age: Duration,
    /// Window in which JetStream drops a re-publish with the same `Nats-Msg-Id`; longer than a realistic
    /// relay restart.
    pub duplicate_window: Duration,
}

impl Default for NatsTopology {
    fn default() -> Self {
        Self {
            stream_name: schemas::NATS_STREAM_NAME.to_owned(),
            subject_prefix: schemas::NATS_SUBJECT_PREFIX.to_owned(),
            max_age: Duration::from_secs(7 * 24 * 3600),
            duplicate_window: Duration::from_secs(600),
        }
    }
}

impl NatsTopology {
    /// A topology with the given stream name and subject prefix and the default limits.
    pub fn new(stream_name: impl Into<String>, subject_prefix: impl Into<String>) -> Self {
        Self { stream_name: stream_name.into(), subject_prefix: subject_prefix.into(), ..Self::default() }
    }

    /// The subject filter matching every event of this topology: `<prefix>.>`.
    pub fn wildcard(&self) -> String {
        format!("{}.>", self.subject_prefix)
    }

    /// The subject of an event: `<prefix>.p<NN>.<order_id>.<event name>`, the same as
    /// [`schemas::subject_for`] when the prefix is [`schemas::NATS_SUBJECT_PREFIX`].
    pub fn subject(&self, order_id: Uuid, event_type: &str) -> String {
        let standard = schemas::subject_for(order_id, event_type);
        match standard.strip_prefix(schemas::NATS_SUBJECT_PREFIX) {
            Some(rest) => format!("{}{rest}", self.subject_prefix),
            None => standard,
        }
    }

    /// The stream: file storage, limits retention with `max_age`, de-duplication window, deletes refused.
    pub fn stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.stream_name.clone(),
            description: Some("Order events published by the relay from the event store".to_owned()),
            subjects: vec![self.wildcard()],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            discard: stream::DiscardPolicy::Old,
            max_age: self.max_age,
            duplicate_window: self.duplicate_window,
            num_replicas: 1,
            deny_delete: true,
            ..Default::default()
        }
    }

    /// The durable pull consumer of one projection: explicit acks, all subjects in stream order.
    ///
    /// One consumer per projection (not per partition) because the projection's checkpoint is one point
    /// of the global log, which the query API compares with consistency tokens.
    /// A new consumer starts with new messages: the projector catches up from the event store first.
    pub fn consumer_config(
        &self,
        projection: &str,
        ack_wait: Duration,
        max_ack_pending: i64,
    ) -> consumer::pull::Config {
        consumer::pull::Config {
            durable_name: Some(durable_name(projection)),
            description: Some(format!("Projection {projection}")),
            deliver_policy: consumer::DeliverPolicy::New,
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait,
            // Unlimited: poison events are handled by the projector (dead letters), and a message NATS gave up
            // on would only be fetched from the event store later.
            max_deliver: -1,
            filter_subject: self.wildcard(),
            max_ack_pending,
            ..Default::default()
        }
    }

    /// The stream of the relay's seals ([`crate::SealMessage`]): `<stream name>_SEALS`.
    pub fn seal_stream_name(&self) -> String {
        format!("{}_SEALS", self.stream_name)
    }

    /// The subject of the seals: `<prefix>-seals`, outside the events' `<prefix>.>`.
    pub fn seal_subject(&self) -> String {
        format!("{}-seals", self.subject_prefix)
    }

    /// The seal stream: file storage, kept forever, and neither deletes nor purges allowed, so what was
    /// sealed stays as it was.
    pub fn seal_stream_config(&self) -> stream::Config {
        stream::Config {
            name: self.seal_stream_name(),
            description: Some("Seals of the event store's stream heads, published by the relay".to_owned()),
            subjects: vec![self.seal_subject()],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            duplicate_window: self.duplicate_window,
            num_replicas: 1,
            deny_delete: true,
            deny_purge: true,
            ..Default::default()
        }
    }

    /// Creates the seal stream if it does not exist.
    pub async fn ensure_seal_stream(&self, context: &jetstream::Context) -> Result<stream::Stream, crate::Error> {
        context
            .get_or_create_stream(self.seal_stream_config())
            .await
            .map_err(|error| crate::Error::Nats(format!("creating stream {}: {error}", self.seal_stream_name())))
    }

    /// Creates the stream if it does not exist (an existing stream is left as it is).
    pub async fn ensure_stream(&self, context: &jetstream::Context) -> Result<stream::Stream, crate::Error> {
        context
            .get_or_create_stream(self.stream_config())
            .await
            .map_err(|error| crate::Error::Nats(format!("creating stream {}: {error}", self.stream_name)))
    }
}

/// Durable consumer names may not contain dots or wildcards.
fn durable_name(projection: &str) -> String {
    projection.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_subject_is_the_schemas_subject() {
        let order_id = Uuid::now_v7();
        assert_eq!(
            NatsTopology::default().subject(order_id, "order.placed"),
            schemas::subject_for(order_id, "order.placed")
        );
        let test = NatsTopology::new("TEST_1", "test_1.orders.v1");
        let subject = test.subject(order_id, "order.placed");
        assert!(subject.starts_with("test_1.orders.v1.p"), "{subject}");
        assert!(subject.ends_with(&format!(".{order_id}.placed")), "{subject}");
    }

    #[test]
    fn durable_names_have_no_dots() {
        assert_eq!(durable_name("order_views"), "order_views");
        assert_eq!(durable_name("a.b>c"), "a_b_c");
    }
}
