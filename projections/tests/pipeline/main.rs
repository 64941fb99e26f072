//! End-to-end tests of the relay and the projectors against the real Postgres, NATS JetStream and
//! Elasticsearch of the local stack. Every test owns its database, stream, subject prefix and search alias.

mod ack;
mod helpers;
mod locking;
mod outage;
mod poison;
mod rebuild;
mod redelivery;
mod relay;
mod scripted;
mod seals;
