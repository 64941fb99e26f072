//! Operations: health (honest about each dependency), metrics, the OpenAPI document against the router,
//! the request timeout, graceful shutdown, and a service that cannot write even if it tried.

use std::time::Duration;

use query_api::client::ClientError;
use query_api::client::QueryClient;
use query_api::client::ReadOptions;
use query_api::client::SearchQuery;
use query_api::AppState;
use sqlx::postgres::PgConnectOptions;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::helpers::as_query_role;
use crate::helpers::assert_problem;
use crate::helpers::day;
use crate::helpers::get;
use crate::helpers::pay;
use crate::helpers::send;
use crate::helpers::service_url;
use crate::helpers::TestApp;

#[sqlx::test(migrations = false)]
async fn liveness_and_readiness_answer_when_postgres_and_elasticsearch_do(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    assert!(app.client.is_ready().await.expect("an answer"));
    let ready = get(&app.state, "/health/ready").await;
    assert_eq!((ready.json()["postgres"].as_str(), ready.json()["elasticsearch"].as_str()), (Some("ok"), Some("ok")));
    assert_eq!(get(&app.state, "/health/live").await.status, 200);
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn readiness_is_a_503_naming_the_dependency_that_does_not_answer(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options.clone()).await;
    let mut settings = query_api::Settings::for_database("postgres://unused");
    settings.elasticsearch_url = service_url("ELASTICSEARCH_URL");
    let no_postgres =
        AppState::with_connect_options(as_query_role(&options).port(1), &settings).expect("valid settings");
    let answer = get(&no_postgres, "/health/ready").await;
    let problem = assert_problem(&answer, 503, "/problems/service-unavailable");
    assert!(answer.header("retry-after").is_some());
    assert!(problem.detail.contains("Postgres") && !problem.detail.contains("Elasticsearch"), "{}", problem.detail);
    assert_eq!(get(&no_postgres, "/health/live").await.status, 200, "alive while a dependency is down");

    settings.elasticsearch_url = "http://127.0.0.1:1".to_owned();
    let no_search = AppState::with_connect_options(as_query_role(&options), &settings).expect("valid settings");
    let problem = assert_problem(&get(&no_search, "/health/ready").await, 503, "/problems/service-unavailable");
    assert!(problem.detail.contains("Elasticsearch") && !problem.detail.contains("Postgres"), "{}", problem.detail);
    let search = get(&no_search, "/search/orders?q=book").await;
    assert_problem(&search, 503, "/problems/service-unavailable");
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn the_service_cannot_write_even_if_it_tried(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options.clone()).await;
    let attempts = [
        "INSERT INTO projections.checkpoints (name) VALUES ('forged')",
        "UPDATE projections.order_summary SET status = 'paid'",
        "DELETE FROM projections.daily_sales",
        "CREATE TABLE projections.intruder (id int)",
        "INSERT INTO event_store.snapshots (stream_id, schema_version, version, state) VALUES (gen_random_uuid(), 1, 1, '{}')",
    ];
    for statement in attempts {
        let error = sqlx::query(statement).execute(app.state.pool()).await.expect_err("the write is refused");
        let code = error.as_database_error().and_then(|error| error.code()).map(|code| code.into_owned());
        // 25006: read-only transaction; 42501: insufficient privilege.
        assert!(matches!(code.as_deref(), Some("25006" | "42501")), "{statement}: {error}");
    }
    // Even pointed at the owner's role, the service's sessions are read-only.
    let settings = query_api::Settings::for_database("postgres://unused");
    let as_owner = AppState::with_connect_options(options, &settings).expect("valid settings");
    let error = sqlx::query("INSERT INTO projections.checkpoints (name) VALUES ('forged')")
        .execute(as_owner.pool())
        .await
        .expect_err("refused");
    assert_eq!(error.as_database_error().and_then(|error| error.code()).as_deref(), Some("25006"), "{error}");
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM projections.checkpoints WHERE name = 'forged'")
        .fetch_one(&app.admin)
        .await
        .expect("counted");
    assert_eq!(count, 0);
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn metrics_count_requests_by_route_and_consistency_waits(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let order_id = app.placed_order(Uuid::now_v7(), "EUR", "Nice", &[("A", "A", 100, 1)], day(0)).await;
    let token = app.execute(order_id, pay(100, "EUR", day(1))).await.token;
    app.project_views().await;
    app.client.get_order(order_id, &ReadOptions::after(token.to_string())).await.expect("served");
    let _ = app.client.get_order(Uuid::now_v7(), &ReadOptions::default()).await;
    let text = app.client.metrics().await.expect("the metrics");
    for name in [
        "query_api_http_requests_total",
        "query_api_http_request_duration_seconds_bucket",
        "query_api_consistency_wait_seconds",
        "query_api_checkpoint_position",
    ] {
        assert!(text.contains(name), "{name} missing in\n{text}");
    }
    assert!(text.contains("route=\"/orders/{order_id}\""), "routes are labelled by their template");
    app.clean_up().await;
}

/// Every operation of the document is a route the router serves, and every route is documented.
#[sqlx::test(migrations = false)]
async fn the_openapi_document_matches_the_routes(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    let document = app.client.openapi().await.expect("the document");
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with("3.1")));
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            if method != "get" {
                continue;
            }
            operations.push(operation["operationId"].as_str().expect("an operation id").to_owned());
            let concrete = path
                .replace("{order_id}", &Uuid::now_v7().to_string())
                .replace("{customer_id}", &Uuid::now_v7().to_string());
            let answer = get(&app.state, &concrete).await;
            let unrouted = answer.status == 405
                || (answer.status == 404
                    && serde_json::from_slice::<serde_json::Value>(&answer.body)
                        .is_ok_and(|problem| problem["type"] == "/problems/not-found"));
            assert!(!unrouted, "GET {path} is documented but not routed ({})", answer.status);
            let parameters: Vec<&str> = operation["parameters"]
                .as_array()
                .map(|parameters| parameters.iter().filter_map(|parameter| parameter["name"].as_str()).collect())
                .unwrap_or_default();
            if !path.starts_with("/health") && path != "/metrics" && path != "/openapi.json" {
                assert!(parameters.contains(&"consistency_token"), "{path} documents consistency_token");
                assert!(parameters.contains(&"X-Consistency-Token"), "{path} documents the header");
            }
        }
    }
    operations.sort();
    assert_eq!(
        operations,
        [
            "customer_orders",
            "daily_sales",
            "get_customer",
            "get_order",
            "list_orders",
            "live",
            "metrics",
            "openapi",
            "order_as_of",
            "order_history",
            "ready",
            "search_orders",
        ]
    );
    for schema in ["Order", "OrderPage", "Customer", "SalesReport", "SearchPage", "History", "OrderAsOf", "Problem"] {
        assert!(document["components"]["schemas"].get(schema).is_some(), "{schema} is documented");
    }
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn unknown_routes_and_methods_are_problems(_: PgPoolOptions, options: PgConnectOptions) {
    let app = TestApp::spawn(options).await;
    assert_problem(&get(&app.state, "/order").await, 404, "/problems/not-found");
    let post = axum::http::Request::builder()
        .method("POST")
        .uri("/orders")
        .body(axum::body::Body::empty())
        .expect("a request");
    assert_problem(&send(&app.state, post).await, 405, "/problems/method-not-allowed");
    app.clean_up().await;
}

/// A dependency that accepts connections but never answers is cut off by the request timeout (503).
#[sqlx::test(migrations = false)]
async fn a_request_that_outlives_the_timeout_is_answered_with_a_503(_: PgPoolOptions, options: PgConnectOptions) {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let silent_url = format!("http://{}", silent.local_addr().expect("an address"));
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            connections.push(connection);
        }
    });
    let app = TestApp::spawn_with(options, |settings| {
        settings.elasticsearch_url = silent_url;
        settings.request_timeout_ms = 400;
        settings.consistency_wait_ms = 200;
    })
    .await;
    let started = std::time::Instant::now();
    let error =
        app.client.search_orders(&SearchQuery::text("book"), &ReadOptions::default()).await.expect_err("refused");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    assert_eq!(error.problem().map(|problem| problem.problem_type.as_str()), Some("/problems/service-unavailable"));
    held.abort();
    app.clean_up().await;
}

#[sqlx::test(migrations = false)]
async fn graceful_shutdown_lets_a_waiting_request_finish(_: PgPoolOptions, options: PgConnectOptions) {
    let mut app = TestApp::spawn_with(options, |settings| settings.consistency_wait_ms = 700).await;
    let order_id = app.placed_order(Uuid::now_v7(), "EUR", "Nice", &[("A", "A", 100, 1)], day(0)).await;
    app.project_views().await;
    let token = app.execute(order_id, pay(100, "EUR", day(1))).await.token;
    let client = QueryClient::new(app.address.clone());
    let waiting = tokio::spawn(async move { client.get_order(order_id, &ReadOptions::after(token.to_string())).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.begin_stop();
    let answer = waiting.await.expect("the request task ends");
    assert!(
        matches!(answer, Err(ClientError::Problem { status, .. }) if status == 503),
        "the request in flight got its answer"
    );
    tokio::time::timeout(Duration::from_secs(5), app.finished()).await.expect("the server stops").expect("cleanly");
    let refused = QueryClient::new(app.address.clone()).get_order(order_id, &ReadOptions::default()).await;
    assert!(matches!(refused, Err(ClientError::Transport(_))), "no new connections after shutdown");
    app.clean_up().await;
}
