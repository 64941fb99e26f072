//! Detection: `projections verify` finds a corrupted view row and a corrupted search document, and
//! `verify-log` finds a tampered and a missing event; each exits with status 1 and names what it found.

use std::time::Duration;

use projections::{NatsTopology, Relay, RelayOptions};
use serde_json::json;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::helpers::{eventually, TestEnv};

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn verify_reports_a_deliberately_corrupted_view_row_and_exits_with_status_1(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    env.seed(60, 41).await;
    env.project_views().await;
    let clean = env.ordersctl(&["projections", "verify", "order_views"]).await.expect_status(0);
    assert!(clean.stdout().contains("matches a rebuild"), "{}", clean.stdout());

    let order_id: Uuid = sqlx::query_scalar(
        "UPDATE projections.order_summary SET total_minor = total_minor + 1 \
          WHERE order_id = (SELECT order_id FROM projections.order_summary ORDER BY order_id LIMIT 1) RETURNING order_id",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM projections.order_lines WHERE (order_id, line_no) = (SELECT order_id, line_no FROM projections.order_lines ORDER BY order_id DESC LIMIT 1)")
        .execute(&env.pool)
        .await
        .unwrap();

    let found = env.ordersctl(&["projections", "verify", "order_views"]).await.expect_status(1);
    let text = found.stdout();
    assert!(text.contains(&format!("order_id={order_id}")), "the corrupted row is named:\n{text}");
    assert!(text.contains("total_minor: live"), "the differing column is named:\n{text}");
    assert!(text.contains("missing_in_live"), "the deleted line is reported:\n{text}");

    let report = env.ordersctl(&["--json", "projections", "verify", "order_views"]).await.expect_status(1).json();
    assert_eq!(report["identical"], json!(false));
    let summary = report["compared"]
        .as_array()
        .unwrap()
        .iter()
        .find(|table| table["name"] == "projections.order_summary")
        .unwrap();
    assert_eq!(summary["live_rows"], summary["rebuilt_rows"]);
    assert_ne!(summary["live_checksum"], summary["rebuilt_checksum"]);
    assert_eq!(summary["differing"], json!(1));
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn verify_of_the_search_index_reports_a_corrupted_document_and_exits_with_status_1(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    env.seed(40, 42).await;
    env.project_search().await;
    env.ordersctl(&["projections", "verify", "order_search"]).await.expect_status(0);

    let index = env.search_index();
    let order_id: Uuid =
        sqlx::query_scalar("SELECT stream_id FROM event_store.events ORDER BY global_position LIMIT 1")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    let response = index
        .client()
        .update(elasticsearch::UpdateParts::IndexId(index.alias(), &order_id.to_string()))
        .body(json!({ "doc": { "total_minor": 1 } }))
        .refresh(elasticsearch::params::Refresh::True)
        .send()
        .await
        .unwrap();
    assert!(response.status_code().is_success(), "corrupting a document: {}", response.status_code());

    let found = env.ordersctl(&["projections", "verify", "order_search"]).await.expect_status(1);
    assert!(found.stdout().contains(&order_id.to_string()), "the corrupted document is named:\n{}", found.stdout());
    assert!(found.stdout().contains("total_minor"), "{}", found.stdout());
    let leftovers = index
        .client()
        .indices()
        .get(elasticsearch::indices::IndicesGetParts::Index(&[&format!("{}-verify-*", env.index_prefix)]))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(leftovers, json!({}), "the scratch index is deleted");
    env.cleanup().await;
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn verify_log_reports_the_first_tampered_and_the_first_missing_event_and_exits_with_status_1(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    let seeded = env.seed(20, 43).await;
    env.ordersctl(&["verify-log"]).await.expect_status(0);
    let tampered = seeded.order_ids[3];
    // Deleting a stream's newest event cannot be seen from inside the database, so cut a long stream short.
    let shortened: Uuid = sqlx::query_scalar(
        "SELECT stream_id FROM event_store.events WHERE stream_id <> $1 GROUP BY stream_id ORDER BY max(version) DESC LIMIT 1",
    )
    .bind(tampered)
    .fetch_one(&env.pool)
    .await
    .unwrap();

    tamper(
        &env.pool,
        "UPDATE event_store.events SET payload = payload || '{\"occurred_at\": \"2020-01-01T00:00:00Z\"}' \
          WHERE stream_id = $1 AND version = 2",
        tampered,
    )
    .await;
    tamper(&env.pool, "DELETE FROM event_store.events WHERE stream_id = $1 AND version = 3", shortened).await;

    let found = env.ordersctl(&["verify-log"]).await.expect_status(1);
    let text = found.stdout();
    let tampered_line =
        text.lines().find(|line| line.starts_with(&tampered.to_string())).unwrap_or_else(|| panic!("{text}"));
    assert!(tampered_line.contains(" 2 ") && tampered_line.contains("tampered"), "{tampered_line}");
    let missing_line =
        text.lines().find(|line| line.starts_with(&shortened.to_string())).unwrap_or_else(|| panic!("{text}"));
    assert!(missing_line.contains("missing event: expected version 3, found 4"), "{missing_line}");

    let one_stream =
        env.ordersctl(&["--json", "verify-log", "--stream", &tampered.to_string()]).await.expect_status(1).json();
    assert_eq!(one_stream["failures"][0]["version"], json!(2));
    assert_eq!(one_stream["failures"][0]["kind"]["kind"], json!("envelope_mismatch"));
}

/// Deleting a stream's newest events leaves a chain that verifies; the heads the relay sealed to NATS do not.
#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn verify_log_with_seals_finds_deleted_newest_events_that_the_chains_cannot_show(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    env.seed(15, 44).await;
    let id = Uuid::new_v4().simple().to_string();
    let topology = NatsTopology::new(format!("TEST_{id}"), format!("test_{id}.orders.v1"));
    let nats_url = std::env::var("NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:14222".to_owned());
    let jetstream =
        async_nats::jetstream::new(async_nats::connect(&nats_url).await.expect("NATS accepts a connection"));
    let relay = Relay::new(env.pool.clone(), jetstream.clone(), topology.clone())
        .with_options(RelayOptions { seal_interval: Some(Duration::from_millis(100)), ..RelayOptions::default() });
    let shutdown = CancellationToken::new();
    let relay_task = tokio::spawn({
        let (relay, shutdown) = (relay.clone(), shutdown.clone());
        async move { relay.run(shutdown).await }
    });
    let head = env.store.head().await.unwrap();
    let sealed = eventually(Duration::from_secs(30), || async {
        let sealed = projections::read_sealed_heads(&jetstream, &topology).await;
        sealed.is_ok_and(|sealed| sealed.sealed_through.is_some_and(|through| through >= head))
    })
    .await;
    shutdown.cancel();
    relay_task.await.unwrap().expect("the relay stops cleanly");
    assert!(sealed, "the relay sealed the seeded log");

    let stream_arg = ["--nats-stream", topology.stream_name.as_str()];
    let clean = env.ordersctl(&[&stream_arg[..], &["verify-log", "--seals"]].concat()).await.expect_status(0);
    assert!(clean.stdout().contains("sealed heads match: 15 streams"), "{}", clean.stdout());

    let shortened: Uuid = sqlx::query_scalar(
        "SELECT stream_id FROM event_store.events GROUP BY stream_id HAVING max(version) > 2 ORDER BY stream_id LIMIT 1",
    )
    .fetch_one(&env.pool)
    .await
    .unwrap();
    tamper(&env.pool, "DELETE FROM event_store.events WHERE stream_id = $1 AND version > 2", shortened).await;

    env.ordersctl(&["verify-log"]).await.expect_status(0);
    let found = env.ordersctl(&[&stream_arg[..], &["verify-log", "--seals"]].concat()).await.expect_status(1);
    let text = found.stdout();
    let line = text.lines().find(|line| line.starts_with(&shortened.to_string())).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("deleted: the store's stream ends at version 2"), "{line}");
    let json =
        env.ordersctl(&[&stream_arg[..], &["--json", "verify-log", "--seals"]].concat()).await.expect_status(1).json();
    assert_eq!(json["seals"]["mismatches"][0]["sealed"]["stream_id"], json!(shortened.to_string()));
    assert_eq!(json["seals"]["mismatches"][0]["found"], json!({ "kind": "missing", "stream_version": 2 }));
    assert_eq!(json["chains"]["failures"], json!([]));

    for stream in [topology.stream_name.clone(), topology.seal_stream_name()] {
        let _ = jetstream.delete_stream(stream).await;
    }
}

/// Runs `statement` (bound to `stream_id`) with the immutability triggers switched off, as only a superuser
/// can: the attacker the hash chains and the seals are for.
async fn tamper(pool: &PgPool, statement: &str, stream_id: Uuid) {
    let mut transaction = pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE event_store.events DISABLE TRIGGER events_immutable_rows")
        .execute(&mut *transaction)
        .await
        .unwrap();
    sqlx::query(statement).bind(stream_id).execute(&mut *transaction).await.unwrap();
    sqlx::query("ALTER TABLE event_store.events ENABLE TRIGGER events_immutable_rows")
        .execute(&mut *transaction)
        .await
        .unwrap();
    transaction.commit().await.unwrap();
}
