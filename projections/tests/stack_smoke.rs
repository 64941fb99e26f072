//! Proves the wiring of the local stack: Postgres answers a query, JetStream stores and redelivers
//! a message through a durable pull consumer, and Elasticsearch indexes and finds a document.
//! Every resource the test makes is named after a fresh uuid and removed at the end.

use std::time::Duration;

use async_nats::jetstream;
use elasticsearch::http::transport::Transport;
use elasticsearch::{Elasticsearch, IndexParts, SearchParts};
use futures::StreamExt;
use serde_json::{json, Value};
use uuid::Uuid;

fn service_url(variable: &str) -> String {
    std::env::var(variable)
        .unwrap_or_else(|_| panic!("{variable} is not set: run the tests with scripts/test, which starts the stack"))
}

#[tokio::test]
async fn postgres_answers_a_query() {
    let pool = sqlx::PgPool::connect(&service_url("DATABASE_URL"))
        .await
        .expect("Postgres at DATABASE_URL accepts a connection");
    let (answer,): (i32,) = sqlx::query_as("SELECT 6 * 7").fetch_one(&pool).await.expect("query runs");
    assert_eq!(answer, 42);
    let (schemas,): (i64,) =
        sqlx::query_as("SELECT count(*) FROM pg_namespace WHERE nspname IN ('event_store', 'projections')")
            .fetch_one(&pool)
            .await
            .expect("catalog query runs");
    assert_eq!(schemas, 2, "the stack creates one schema per data owner");
}

#[tokio::test]
async fn jetstream_stores_and_delivers_a_message_to_a_durable_consumer() {
    let client =
        async_nats::connect(service_url("NATS_URL")).await.expect("nats-server at NATS_URL accepts a connection");
    let context = jetstream::new(client);
    let prefix = format!("test_{}", Uuid::new_v4().simple());
    let stream_name = format!("SMOKE_{}", Uuid::new_v4().simple());
    let stream = context
        .create_stream(jetstream::stream::Config {
            name: stream_name.clone(),
            subjects: vec![format!("{prefix}.>")],
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .expect("JetStream is enabled and creates a stream");

    let ack = context
        .publish(format!("{prefix}.hello"), "ping".into())
        .await
        .expect("publish is sent")
        .await
        .expect("JetStream acknowledges the publish");
    assert_eq!(ack.sequence, 1);

    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some("smoke".to_string()),
            filter_subject: format!("{prefix}.hello"),
            ..Default::default()
        })
        .await
        .expect("durable consumer is created");
    let mut messages = consumer
        .fetch()
        .max_messages(1)
        .expires(Duration::from_secs(5))
        .messages()
        .await
        .expect("fetch request is accepted");
    let message = messages.next().await.expect("one message arrives").expect("message is readable");
    assert_eq!(message.payload.as_ref(), b"ping");
    message.ack().await.expect("ack is sent");

    context.delete_stream(&stream_name).await.expect("stream is deleted");
}

#[tokio::test]
async fn elasticsearch_indexes_and_finds_a_document() {
    let transport = Transport::single_node(&service_url("ELASTICSEARCH_URL")).expect("ELASTICSEARCH_URL is a URL");
    let client = Elasticsearch::new(transport);
    let index = format!("orders-test-{}", Uuid::new_v4().simple());

    let response = client
        .index(IndexParts::IndexId(&index, "order-1"))
        .body(json!({ "customer": "Ada Lovelace", "items": ["analytical engine"] }))
        .refresh(elasticsearch::params::Refresh::True)
        .send()
        .await
        .expect("Elasticsearch accepts the index request");
    assert!(response.status_code().is_success(), "index status {}", response.status_code());

    let found: Value = client
        .search(SearchParts::Index(&[&index]))
        .body(json!({ "query": { "match": { "items": "engine" } } }))
        .send()
        .await
        .expect("search request is sent")
        .json()
        .await
        .expect("search answers JSON");
    assert_eq!(found["hits"]["total"]["value"], 1, "search result: {found}");
    assert_eq!(found["hits"]["hits"][0]["_id"], "order-1");

    client
        .indices()
        .delete(elasticsearch::indices::IndicesDeleteParts::Index(&[&index]))
        .send()
        .await
        .expect("index is deleted");
}

/// Connects as one of the service roles the stack creates, on the same server as `DATABASE_URL`.
async fn connect_as(role: &str) -> sqlx::PgConnection {
    use sqlx::{postgres::PgConnectOptions, ConnectOptions};
    let options: PgConnectOptions = service_url("DATABASE_URL").parse().expect("DATABASE_URL parses");
    options
        .username(role)
        .password(role)
        .database("orders")
        .connect()
        .await
        .unwrap_or_else(|error| panic!("role {role} logs in: {error}"))
}

#[tokio::test]
async fn each_role_writes_only_the_schema_it_owns() {
    let cases = [
        ("orders_events", "event_store", true),
        ("orders_events", "projections", false),
        ("orders_projections", "projections", true),
        ("orders_projections", "event_store", false),
        ("orders_query", "projections", false),
        ("orders_query", "event_store", false),
    ];
    for (role, schema, allowed) in cases {
        let mut connection = connect_as(role).await;
        let table = format!("{schema}.smoke_{}", Uuid::new_v4().simple());
        let created = sqlx::query(&format!("CREATE TABLE {table} (x int)")).execute(&mut connection).await;
        assert_eq!(created.is_ok(), allowed, "{role} creating a table in {schema}: {created:?}");
        if created.is_ok() {
            sqlx::query(&format!("DROP TABLE {table}")).execute(&mut connection).await.expect("owner drops its table");
        }
    }
}
