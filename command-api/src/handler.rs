//! The path every command takes after its body passed the schema: build the domain command, answer a
//! repeated `Idempotency-Key` from the stored response, run the command, store the response.

use aggregates::OrderCommand;
use aggregates::OrderId;
use axum::http::header;
use axum::http::Method;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use chrono::DateTime;
use chrono::SecondsFormat;
use chrono::Utc;
use event_store::Metadata;
use schemas::FieldError;
use serde_json::json;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;
use crate::extract::CommandHeaders;
use crate::idempotency;
use crate::observe::RequestContext;
use crate::orders;
use crate::orders::CommandRun;
use crate::orders::Execution;
use crate::response::CommandAccepted;
use crate::state::AppState;

/// Everything about the HTTP request that the command needs besides its body.
pub(crate) struct CommandRequest<'a> {
    pub(crate) method: &'a Method,
    pub(crate) path: &'a str,
    pub(crate) context: RequestContext,
    pub(crate) headers: CommandHeaders,
    /// The validated JSON body, for the idempotency fingerprint.
    pub(crate) document: &'a Value,
    pub(crate) order_id: Uuid,
    /// True when the server chose the order id (create without `order_id`): a retry chooses another one.
    pub(crate) order_id_generated: bool,
    /// 201 for a create, 200 otherwise.
    pub(crate) success: StatusCode,
}

/// Runs one command and answers it.
pub(crate) async fn handle(
    state: &AppState,
    request: CommandRequest<'_>,
    build: impl FnOnce(DateTime<Utc>) -> Result<OrderCommand, Vec<FieldError>>,
) -> Response {
    // The request time is taken here, at the edge; `decide` reads no clock.
    let requested_at = Utc::now();
    let command = match build(requested_at) {
        Ok(command) => command,
        Err(errors) => return ApiError::Invalid(errors).into_response(),
    };
    tracing::Span::current().record("order.id", tracing::field::display(request.order_id));
    let key = request.headers.idempotency_key.clone();
    let fingerprint =
        key.as_ref().map(|_| idempotency::fingerprint(request.method.as_str(), request.path, request.document));
    if let (Some(key), Some(fingerprint)) = (&key, &fingerprint) {
        match idempotency::find(state, key, fingerprint).await {
            Ok(Some(stored)) => return stored,
            Ok(None) => {}
            Err(error) => return error.into_response(),
        }
    }

    let command_id = key.as_deref().map_or_else(Uuid::now_v7, idempotency::command_id_for_key);
    let run = CommandRun {
        order_id: OrderId::new(request.order_id),
        command,
        expected_version: request.headers.if_match,
        metadata: metadata(&request, command_id, requested_at),
    };
    let mut result = orders::execute(state, &run).await;
    if key.is_some() {
        result = recover_recorded(state, &request, command_id, result).await;
    }

    let (status, content_type, body, storable) = match &result {
        Ok(execution) => {
            let accepted = CommandAccepted::from(execution);
            (request.success, "application/json", serde_json::to_vec(&accepted).unwrap_or_default(), true)
        }
        Err(error) => {
            let storable = matches!(error, ApiError::Rejected { .. } | ApiError::NotFound(_));
            let problem = error.to_problem();
            (
                error.problem_type().status(),
                schemas::PROBLEM_CONTENT_TYPE,
                serde_json::to_vec(&problem).unwrap_or_default(),
                storable,
            )
        }
    };
    if let (Some(key), Some(fingerprint), true) = (&key, &fingerprint, storable) {
        match idempotency::save(state, key, fingerprint, status, content_type, &body).await {
            Ok(Some(earlier)) => return earlier,
            Ok(None) => {}
            // The command itself is done; a retry finds it through the command id.
            Err(error) => tracing::warn!(error = %error, "storing the idempotent response failed"),
        }
    }
    match result {
        Ok(execution) => CommandAccepted::from(&execution).into_response_with(status),
        Err(error) => {
            let mut response = error.into_response();
            if !status.is_server_error() {
                // The body was already rendered above; send exactly those bytes.
                *response.body_mut() = body.into();
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, header::HeaderValue::from_static(schemas::PROBLEM_CONTENT_TYPE));
            }
            response
        }
    }
}

/// A keyed request whose command id the event store already recorded is the retry of a command that went
/// through before its response could be stored. On the state after it, the retry is refused (placing twice)
/// or changes nothing (the same address again); either way, answer with the recorded result: its version
/// and consistency token.
async fn recover_recorded(
    state: &AppState,
    request: &CommandRequest<'_>,
    command_id: Uuid,
    result: Result<Execution, ApiError>,
) -> Result<Execution, ApiError> {
    let error = match result {
        Ok(execution) if execution.token.is_none() => {
            return match idempotency::recorded_command(state, request.order_id, command_id, request.order_id_generated)
                .await?
            {
                Some(recorded) => {
                    tracing::info!(command.id = %command_id, "answering a retried no-op command from its record");
                    Ok(recorded)
                }
                None => Ok(execution),
            };
        }
        Ok(execution) => return Ok(execution),
        Err(error) => error,
    };
    let may_be_a_retry = matches!(
        error,
        ApiError::Rejected { .. }
            | ApiError::NotFound(_)
            | ApiError::VersionMismatch { .. }
            | ApiError::IdempotencyKeyReused
    );
    if !may_be_a_retry {
        return Err(error);
    }
    match idempotency::recorded_command(state, request.order_id, command_id, request.order_id_generated).await? {
        Some(recorded) => {
            tracing::info!(command.id = %command_id, "answering a retried command from its record");
            Ok(recorded)
        }
        _ => Err(error),
    }
}

/// The audit metadata stored with each event of the command.
fn metadata(request: &CommandRequest<'_>, command_id: Uuid, requested_at: DateTime<Utc>) -> Metadata {
    let mut extra = serde_json::Map::new();
    extra.insert("request_path".to_owned(), json!(request.path));
    extra.insert("http_method".to_owned(), json!(request.method.as_str()));
    extra.insert("requested_at".to_owned(), json!(requested_at.to_rfc3339_opts(SecondsFormat::Micros, true)));
    if let Some(key) = &request.headers.idempotency_key {
        extra.insert("idempotency_key".to_owned(), json!(key));
    }
    Metadata {
        command_id,
        correlation_id: request.context.correlation_id.clone(),
        causation_id: Some(command_id.to_string()),
        actor: Some(request.headers.actor.clone()),
        extra,
    }
}
