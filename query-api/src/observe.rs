//! The one middleware around every route: correlation id (from `X-Correlation-Id` or `traceparent`,
//! generated when absent), the request span, the request timeout, metrics, and the single log line
//! of each request (a 5xx at `error` with its cause, a 4xx at `debug`). Same shape as the command API's.

use std::time::Instant;

use axum::extract::MatchedPath;
use axum::extract::Request;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::IntoResponse;
use axum::response::Response;
use tracing::Instrument;
use uuid::Uuid;

use crate::error::ApiError;
use crate::error::ErrorReport;
use crate::state::AppState;
use crate::telemetry;

/// Header that carries the correlation id in both directions.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";
/// W3C trace context header; its trace id becomes the correlation id when `X-Correlation-Id` is absent.
pub(crate) const TRACEPARENT_HEADER: &str = "traceparent";

/// The client's correlation id when it is usable, else the trace id of `traceparent`, else a new UUID v7.
pub(crate) fn correlation_id(headers: &HeaderMap) -> String {
    let given = headers
        .get(CORRELATION_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| is_usable_correlation_id(value));
    if let Some(given) = given {
        return given.to_owned();
    }
    headers
        .get(TRACEPARENT_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(trace_id_of)
        .unwrap_or_else(|| Uuid::now_v7().to_string())
}

/// 1 to 128 characters from `A-Z a-z 0-9 . _ : -`; anything else is replaced rather than refused.
fn is_usable_correlation_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b':' | b'-'))
}

/// The trace id of a version-00 `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), unless it is all zeros.
fn trace_id_of(traceparent: &str) -> Option<String> {
    let mut parts = traceparent.trim().split('-');
    let (version, trace_id, parent_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let is_hex = |text: &str, length: usize| {
        text.len() == length && text.bytes().all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
    };
    let valid = version == "00"
        && parts.next().is_none()
        && is_hex(trace_id, 32)
        && is_hex(parent_id, 16)
        && is_hex(flags, 2)
        && trace_id.bytes().any(|byte| byte != b'0');
    valid.then(|| trace_id.to_owned())
}

/// Runs one request inside its span, with the timeout, then records metrics and the log line.
pub(crate) async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let correlation_id = correlation_id(request.headers());
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let span = tracing::info_span!(
        "request",
        correlation.id = %correlation_id,
        http.method = %method,
        http.route = %route,
        http.path = %request.uri().path(),
    );

    let timeout = state.limits().request_timeout;
    let mut response = match tokio::time::timeout(timeout, next.run(request).instrument(span.clone())).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable(format!("the request did not finish within {} ms", timeout.as_millis()))
            .into_response(),
    };

    let status = response.status();
    let elapsed = started.elapsed();
    let labels = [("method", method.to_string()), ("route", route), ("status", status.as_u16().to_string())];
    metrics::counter!(telemetry::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(telemetry::HTTP_DURATION, &labels).record(elapsed.as_secs_f64());

    span.in_scope(|| {
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        if status.is_server_error() {
            let cause = response
                .extensions()
                .get::<ErrorReport>()
                .map_or_else(|| "no cause recorded".to_owned(), |report| report.0.to_string());
            tracing::error!(http.status = status.as_u16(), latency_ms, cause = %cause, "request failed");
        } else if status.is_client_error() {
            tracing::debug!(http.status = status.as_u16(), latency_ms, "request refused");
        } else {
            tracing::info!(http.status = status.as_u16(), latency_ms, "request finished");
        }
    });

    if let Ok(value) = HeaderValue::from_str(&correlation_id) {
        response.headers_mut().insert(CORRELATION_ID_HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("a valid header value"));
        }
        map
    }

    #[test]
    fn a_given_correlation_id_is_kept() {
        assert_eq!(correlation_id(&headers(&[(CORRELATION_ID_HEADER, "req-42")])), "req-42");
    }

    #[test]
    fn the_trace_id_of_traceparent_is_used_without_a_correlation_id() {
        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(correlation_id(&headers(&[(TRACEPARENT_HEADER, traceparent)])), "4bf92f3577b34da6a3ce929d0e0e4736");
    }

    #[test]
    fn unusable_values_are_replaced_by_a_new_id() {
        let generated = correlation_id(&headers(&[
            (CORRELATION_ID_HEADER, "has spaces and {braces}"),
            (TRACEPARENT_HEADER, "00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
        ]));
        assert!(Uuid::parse_str(&generated).is_ok(), "{generated}");
    }
}
