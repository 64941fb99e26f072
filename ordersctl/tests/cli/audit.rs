//! Audits: export fidelity (export, import into a scratch store, identical hashes), resumable exports,
//! the audit trail and state of one order, and the operator's view of parked orders.

use event_store::{ExpectedVersion, Metadata, NewEvent, StreamRef};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::helpers::{with_database, TestEnv};

/// Every event's identity and hash, in log order.
async fn hashes(pool: &PgPool) -> Vec<(i64, Uuid, Uuid, i64, String)> {
    sqlx::query_as(
        "SELECT global_position, event_id, stream_id, version, encode(hash, 'hex') FROM event_store.events \
          ORDER BY global_position",
    )
    .fetch_all(pool)
    .await
    .expect("the events are readable")
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn exporting_and_importing_into_a_scratch_store_gives_identical_hashes(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    let seeded = env.seed(40, 51).await;
    let directory = std::env::temp_dir().join(format!("ordersctl-test-{}", Uuid::new_v4()));
    std::fs::create_dir_all(&directory).unwrap();
    let file = directory.join("events.jsonl");
    let file_name = file.to_str().unwrap();
    env.ordersctl(&["export", "--output", file_name]).await.expect_status(0);
    let lines = std::fs::read_to_string(&file).unwrap().lines().count() as u64;
    assert_eq!(lines, seeded.events);

    let scratch = format!("ordersctl_scratch_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&env.database_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {scratch}")).execute(&mut admin).await.unwrap();
    let scratch_url = with_database(&env.database_url, &scratch);
    let imported = env.ordersctl(&["--database-url", &scratch_url, "import", file_name]).await.expect_status(0);
    assert!(imported.stdout().contains("hash chains intact"), "{}", imported.stdout());

    let scratch_pool = PgPool::connect(&scratch_url).await.unwrap();
    assert_eq!(hashes(&scratch_pool).await, hashes(&env.pool).await, "the scratch store differs from the original");
    // Importing twice is refused rather than mixing two logs.
    let again = env.ordersctl(&["--database-url", &scratch_url, "import", file_name]).await.expect_status(2);
    assert!(again.stderr().contains("import only into an empty"), "{}", again.stderr());
    scratch_pool.close().await;
    sqlx::query(&format!("DROP DATABASE {scratch} WITH (FORCE)")).execute(&mut admin).await.unwrap();
    std::fs::remove_dir_all(&directory).unwrap();
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn an_interrupted_export_resumes_from_the_position_of_its_last_line(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    env.seed(30, 52).await;
    let whole = env.ordersctl(&["export", "--batch-size", "50"]).await.expect_status(0).stdout();
    let lines: Vec<&str> = whole.lines().collect();
    let middle: Value = serde_json::from_str(lines[lines.len() / 2]).unwrap();
    let position = middle["log_position"].as_str().unwrap();

    let first = env.ordersctl(&["export", "--to-position", position]).await.expect_status(0).stdout();
    let rest =
        env.ordersctl(&["export", "--from-position", position, "--batch-size", "7"]).await.expect_status(0).stdout();
    assert_eq!(format!("{first}{rest}"), whole);
    assert!(first.lines().count() == lines.len() / 2 + 1);

    let stream_id = middle["stream_id"].as_str().unwrap();
    let one_stream = env.ordersctl(&["export", "--stream", stream_id]).await.expect_status(0).stdout();
    let expected: Vec<&str> =
        lines.iter().copied().filter(|line| line.contains(&format!("\"stream_id\":\"{stream_id}\""))).collect();
    assert_eq!(one_stream.lines().collect::<Vec<_>>(), expected);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn replay_lists_every_event_and_prints_the_state_as_of_a_version(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    let seeded = env.seed(5, 53).await;
    env.project_views().await;
    let order_id = seeded.order_ids[0];
    let (version, status): (i64, String) =
        sqlx::query_as("SELECT version, status FROM projections.order_summary WHERE order_id = $1")
            .bind(order_id)
            .fetch_one(&env.pool)
            .await
            .unwrap();

    let trail = env.ordersctl(&["--json", "replay", &order_id.to_string()]).await.expect_status(0).stdout();
    let events: Vec<Value> = trail.lines().map(|line| serde_json::from_str(line).unwrap()).collect();
    assert_eq!(events.len() as i64, version);
    assert_eq!(events[0]["event_type"], json!("order.created"));
    assert!(events.iter().all(|event| event["correlation_id"] == json!(events[0]["correlation_id"])));
    assert!(events.iter().all(|event| !event["summary"].as_str().unwrap().is_empty()));

    let table = env.ordersctl(&["replay", &order_id.to_string()]).await.expect_status(0).stdout();
    assert!(table.starts_with("TIME (UTC)"), "{table}");
    assert_eq!(table.lines().count() as i64, version + 1);
    assert!(table.contains("draft opened for customer"), "{table}");

    let first =
        env.ordersctl(&["--json", "replay", &order_id.to_string(), "--as-of", "1"]).await.expect_status(0).json();
    assert_eq!((first["status"].as_str(), first["version"].as_i64()), (Some("draft"), Some(1)));
    assert_eq!(first["lines"], json!([]));
    let latest = env
        .ordersctl(&["--json", "replay", &order_id.to_string(), "--as-of", &version.to_string()])
        .await
        .expect_status(0)
        .json();
    assert_eq!(latest["status"].as_str(), Some(status.as_str()), "the folded state agrees with the live view");
    let unknown = env.ordersctl(&["replay", &Uuid::now_v7().to_string()]).await.expect_status(2);
    assert!(unknown.stderr().contains("has no events"), "{}", unknown.stderr());
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn status_shows_a_parked_order_and_retry_parked_reports_that_it_stays_parked(pool: PgPool) {
    let env = TestEnv::new(pool).await;
    let seeded = env.seed(10, 54).await;
    let poisoned = seeded.order_ids[2];
    // An event no decoder accepts: the projector dead-letters it and parks its order.
    env.store
        .append(
            &StreamRef::new(poisoned, schemas::ORDER_STREAM_TYPE),
            ExpectedVersion::Any,
            vec![NewEvent::new("order.item_added", 1, json!({ "not": "an item" }))],
            &Metadata::for_command(Uuid::now_v7()),
        )
        .await
        .expect("the store appends any JSON object");
    env.settle().await;
    env.project_views().await;

    let status =
        env.ordersctl(&["--json", "projections", "status", "--sample-ms", "100"]).await.expect_status(0).json();
    let views = status.as_array().unwrap().iter().find(|line| line["projection"] == "order_views").unwrap();
    assert_eq!(views["parked_orders"], json!(1));
    assert_eq!(views["dead_letters"], json!(1));
    assert_eq!(views["lag_events"], json!(0));
    assert_eq!(views["last_error"]["order_id"], json!(poisoned));
    assert!(views["events_per_second"].is_number());
    let human = env.ordersctl(&["projections", "status", "--sample-ms", "0"]).await.expect_status(0).stdout();
    assert!(human.contains("order_views") && human.contains("last error"), "{human}");

    let retry = env
        .ordersctl(&["--json", "projections", "retry-parked", &poisoned.to_string(), "--projection", "order_views"])
        .await
        .expect_status(1)
        .json();
    assert_eq!(retry[0]["orders_retried"], json!(1));
    assert_eq!(retry[0]["still_parked"][0]["order_id"], json!(poisoned));
}
