//! Each error class through `router(state).oneshot(...)`: status, problem type, detail, and that nothing
//! was appended to the event store.

use axum::body::Body;
use axum::http::Request;
use command_api::AppState;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::json_request;
use crate::helpers::oneshot;
use crate::helpers::raw;
use crate::helpers::test_settings;
use crate::helpers::total_events;
use crate::helpers::TestApp;

/// Runs `request` and checks the status, the problem type and that the number of stored events did not move.
async fn refused(
    state: &AppState,
    pool: &PgPool,
    request: Request<Body>,
    status: u16,
    problem_type: &str,
) -> schemas::Problem {
    let before = total_events(pool).await;
    let answer = oneshot(state, request).await;
    assert_eq!(answer.status.as_u16(), status, "{}", String::from_utf8_lossy(&answer.body));
    let problem = answer.problem();
    assert_eq!(problem.problem_type, problem_type);
    assert_eq!(problem.status, status);
    assert!(!problem.title.is_empty() && !problem.detail.is_empty());
    assert!(answer.headers.contains_key("x-correlation-id"));
    assert_eq!(total_events(pool).await, before, "nothing is appended on {status}");
    problem
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_missing_comma_is_a_400_malformed_request(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let request =
        raw("POST", &format!("/orders/{order_id}/items"), Some("application/json"), r#"{"sku": "A" "name": "x"}"#);
    let problem = refused(&app.state, &pool, request, 400, "/problems/malformed-request").await;
    assert!(problem.detail.contains("not valid JSON"), "{}", problem.detail);
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_path_that_is_not_a_uuid_is_a_400(pool: PgPool) {
    let state = AppState::new(pool.clone(), &test_settings());
    refused(&state, &pool, raw("POST", "/orders/not-a-uuid/place", None, ""), 400, "/problems/malformed-request").await;
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_malformed_if_match_is_a_400(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let mut request = raw("POST", &format!("/orders/{order_id}/place"), None, "");
    request.headers_mut().insert("if-match", "yesterday".parse().expect("a header value"));
    refused(&app.state, &pool, request, 400, "/problems/malformed-request").await;
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_body_over_the_limit_is_a_413(pool: PgPool) {
    let mut settings = test_settings();
    settings.max_body_bytes = 1024;
    let state = AppState::new(pool.clone(), &settings);
    let body = json!({"customer_id": Uuid::now_v7(), "currency": "EUR", "padding": "x".repeat(4096)});
    refused(&state, &pool, json_request("POST", "/orders", &body), 413, "/problems/payload-too-large").await;
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_body_that_is_not_json_is_a_415(pool: PgPool) {
    let state = AppState::new(pool.clone(), &test_settings());
    let body = json!({"customer_id": Uuid::now_v7(), "currency": "EUR"}).to_string();
    refused(
        &state,
        &pool,
        raw("POST", "/orders", Some("text/plain"), body.clone()),
        415,
        "/problems/unsupported-media-type",
    )
    .await;
    refused(&state, &pool, raw("POST", "/orders", None, body), 415, "/problems/unsupported-media-type").await;
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_schema_violation_is_a_422_with_a_pointer_per_field(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let body = json!({"sku": "BOOK 1", "unit_price_minor": -5, "quantity": 1001, "colour": "red"});
    let request = json_request("POST", &format!("/orders/{order_id}/items"), &body);
    let problem = refused(&app.state, &pool, request, 422, "/problems/validation-failed").await;
    let fields: Vec<String> = problem.errors.expect("field errors").into_iter().map(|error| error.field).collect();
    for field in ["/sku", "/name", "/unit_price_minor", "/quantity", "/colour"] {
        assert!(fields.iter().any(|candidate| candidate == field), "{field} missing in {fields:?}");
    }
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_domain_value_limit_is_a_422_with_its_pointer(pool: PgPool) {
    let state = AppState::new(pool.clone(), &test_settings());
    // `XYZ` matches the schema's pattern but is no ISO 4217 currency.
    let body = json!({"customer_id": Uuid::now_v7(), "currency": "XYZ"});
    let problem =
        refused(&state, &pool, json_request("POST", "/orders", &body), 422, "/problems/validation-failed").await;
    assert_eq!(problem.errors.expect("field errors")[0].field, "/currency");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_business_rule_on_the_content_is_a_422_naming_the_rule(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.placed_order().await;
    let body = json!({"amount_minor": 1, "currency": "EUR"});
    let problem = refused(
        &app.state,
        &pool,
        json_request("POST", &format!("/orders/{order_id}/payment"), &body),
        422,
        "/problems/business-rule-violated",
    )
    .await;
    assert_eq!(problem.code.as_deref(), Some("payment_amount_mismatch"));
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_command_on_an_unknown_order_is_a_404(pool: PgPool) {
    let state = AppState::new(pool.clone(), &test_settings());
    let request = raw("POST", &format!("/orders/{}/place", Uuid::now_v7()), None, "");
    refused(&state, &pool, request, 404, "/problems/order-not-found").await;
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn an_illegal_transition_is_a_409_naming_the_current_state(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.placed_order().await;
    let body = json!({"carrier": "DHL", "tracking_number": "X1"});
    let problem = refused(
        &app.state,
        &pool,
        json_request("POST", &format!("/orders/{order_id}/shipment"), &body),
        409,
        "/problems/invalid-transition",
    )
    .await;
    assert!(problem.detail.contains("placed"), "{}", problem.detail);
    assert!(problem.code.is_some());
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn creating_an_existing_order_id_again_is_a_409(pool: PgPool) {
    let state = AppState::new(pool.clone(), &test_settings());
    let body = json!({"order_id": Uuid::now_v7(), "customer_id": Uuid::now_v7(), "currency": "EUR"});
    assert_eq!(oneshot(&state, json_request("POST", "/orders", &body)).await.status, 201);
    refused(&state, &pool, json_request("POST", "/orders", &body), 409, "/problems/order-already-exists").await;
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn an_outdated_if_match_is_a_412(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let mut request = json_request(
        "POST",
        &format!("/orders/{order_id}/items"),
        &json!({"sku": "A", "name": "A", "unit_price_minor": 1, "quantity": 1}),
    );
    request.headers_mut().insert("if-match", "\"0\"".parse().expect("a header value"));
    let problem = refused(&app.state, &pool, request, 412, "/problems/version-mismatch").await;
    assert!(problem.detail.contains("version 1"), "{}", problem.detail);

    let mut current = json_request(
        "POST",
        &format!("/orders/{order_id}/items"),
        &json!({"sku": "A", "name": "A", "unit_price_minor": 1, "quantity": 1}),
    );
    current.headers_mut().insert("if-match", "\"1\"".parse().expect("a header value"));
    let answer = oneshot(&app.state, current).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["etag"], "\"2\"");
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn unknown_routes_and_methods_are_problems_too(pool: PgPool) {
    let state = AppState::new(pool.clone(), &test_settings());
    refused(&state, &pool, raw("GET", "/nowhere", None, ""), 404, "/problems/not-found").await;
    refused(&state, &pool, raw("GET", "/orders", None, ""), 405, "/problems/method-not-allowed").await;
}

#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn a_database_that_is_gone_is_a_503_with_retry_after(pool: PgPool) {
    let state = AppState::new(pool.clone(), &test_settings());
    pool.close().await;
    let answer = oneshot(&state, raw("POST", &format!("/orders/{}/place", Uuid::now_v7()), None, "")).await;
    assert_eq!(answer.status, 503, "{}", String::from_utf8_lossy(&answer.body));
    assert_eq!(answer.problem().problem_type, "/problems/service-unavailable");
    assert!(answer.headers.contains_key("retry-after"));
}

/// The same refusals over a real connection, as a client without our library would send them.
#[sqlx::test(migrator = "event_store::MIGRATOR")]
async fn malformed_requests_over_http_get_problem_json_and_append_nothing(pool: PgPool) {
    let app = TestApp::spawn(pool.clone()).await;
    let order_id = app.create_order().await;
    let before = total_events(&pool).await;
    let url = format!("{}/orders/{order_id}/items", app.address);
    let cases = [
        (Some("application/json"), r#"{"sku": "A" "name": "x"}"#.to_owned(), 400, "/problems/malformed-request"),
        (Some("text/plain"), r#"{"sku": "A"}"#.to_owned(), 415, "/problems/unsupported-media-type"),
        (
            Some("application/json"),
            format!(r#"{{"sku": "{}"}}"#, "A".repeat(100_000)),
            413,
            "/problems/payload-too-large",
        ),
        (
            Some("application/json"),
            r#"{"sku": "A", "name": "x", "unit_price_minor": 1.5, "quantity": 1}"#.to_owned(),
            422,
            "/problems/validation-failed",
        ),
    ];
    for (content_type, body, status, problem_type) in cases {
        let mut request = app.http.post(&url).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.expect("an answer");
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["content-type"], schemas::PROBLEM_CONTENT_TYPE);
        let problem: schemas::Problem = response.json().await.expect("a problem body");
        assert_eq!(problem.problem_type, problem_type);
    }
    assert_eq!(total_events(&pool).await, before);
}
