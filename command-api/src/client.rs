//! A typed client of the command API over `reqwest`: one method per command, the request headers as
//! `CommandOptions`, and refusals as `ClientError::Problem` carrying the problem+json body.

use reqwest::header::HeaderMap;
use reqwest::Method;
use reqwest::StatusCode;
use schemas::order as wire;
use schemas::Problem;
use serde::Serialize;
use uuid::Uuid;

use crate::idempotency::REPLAYED_HEADER;
use crate::observe::CORRELATION_ID_HEADER;
use crate::response::CommandAccepted;

/// Optional headers of one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommandOptions {
    /// Sent as `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// Sent as `If-Match: "<version>"`.
    pub if_match: Option<i64>,
    /// Sent as `X-Correlation-Id`.
    pub correlation_id: Option<String>,
    /// Sent as `X-Actor`.
    pub actor: Option<String>,
}

impl CommandOptions {
    /// Options with only an idempotency key.
    pub fn idempotent(key: impl Into<String>) -> Self {
        Self { idempotency_key: Some(key.into()), ..Self::default() }
    }

    /// Options with only an expected version.
    pub fn expecting(version: i64) -> Self {
        Self { if_match: Some(version), ..Self::default() }
    }
}

/// An accepted command, with the response headers that matter to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// 200, or 201 for a create.
    pub status: StatusCode,
    /// The body.
    pub body: CommandAccepted,
    /// The `ETag` header (the version in quotes).
    pub etag: Option<String>,
    /// The `Location` header of a create.
    pub location: Option<String>,
    /// The `X-Correlation-Id` the server used.
    pub correlation_id: Option<String>,
    /// True when the response was replayed for a repeated `Idempotency-Key`.
    pub replayed: bool,
}

impl Accepted {
    /// The order id.
    pub fn order_id(&self) -> Uuid {
        self.body.order_id
    }

    /// The order's version after the command.
    pub fn version(&self) -> i64 {
        self.body.version
    }
}

/// Why a call did not return an accepted command.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The service refused the command with a problem+json body.
    #[error("{status}: {} ({})", .problem.detail, .problem.problem_type)]
    Problem {
        /// The HTTP status.
        status: StatusCode,
        /// The body.
        problem: Problem,
        /// The `X-Correlation-Id` of the response.
        correlation_id: Option<String>,
    },
    /// The request did not get an answer, or the answer was not readable.
    #[error("calling the command API")]
    Transport(#[from] reqwest::Error),
    /// An answer that is neither a command result nor a problem.
    #[error("unexpected {status} answer: {body}")]
    Unexpected {
        /// The HTTP status.
        status: StatusCode,
        /// The body as text.
        body: String,
    },
}

impl ClientError {
    /// The problem body, when the service sent one.
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Self::Problem { problem, .. } => Some(problem),
            _ => None,
        }
    }
}

/// A client of one command API instance.
#[derive(Debug, Clone)]
pub struct CommandClient {
    http: reqwest::Client,
    base_url: String,
}

impl CommandClient {
    /// A client for `base_url` (for example `http://127.0.0.1:8081`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_http(reqwest::Client::new(), base_url)
    }

    /// A client that shares an existing `reqwest::Client` (its connection pool and timeouts).
    pub fn with_http(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        Self { http, base_url: base_url.into().trim_end_matches('/').to_owned() }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `POST /orders`.
    pub async fn create_order(
        &self,
        body: &wire::CreateOrderV1,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        self.send(Method::POST, "/orders".to_owned(), Some(body), options).await
    }

    /// `POST /orders/{order_id}/items`.
    pub async fn add_item(
        &self,
        order_id: Uuid,
        body: &wire::AddItemV1,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        self.send(Method::POST, format!("/orders/{order_id}/items"), Some(body), options).await
    }

    /// `PATCH /orders/{order_id}/items/{sku}`.
    pub async fn change_item_quantity(
        &self,
        order_id: Uuid,
        sku: &str,
        body: &wire::ChangeItemQuantityV1,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        self.send(Method::PATCH, format!("/orders/{order_id}/items/{}", encode_segment(sku)), Some(body), options).await
    }

    /// `DELETE /orders/{order_id}/items/{sku}` (no body).
    pub async fn remove_item(
        &self,
        order_id: Uuid,
        sku: &str,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        self.send::<()>(Method::DELETE, format!("/orders/{order_id}/items/{}", encode_segment(sku)), None, options)
            .await
    }

    /// `PUT /orders/{order_id}/shipping-address`.
    pub async fn set_shipping_address(
        &self,
        order_id: Uuid,
        body: &wire::SetShippingAddressV1,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        self.send(Method::PUT, format!("/orders/{order_id}/shipping-address"), Some(body), options).await
    }

    /// `POST /orders/{order_id}/place` (no body).
    pub async fn place_order(&self, order_id: Uuid, options: &CommandOptions) -> Result<Accepted, ClientError> {
        self.send::<()>(Method::POST, format!("/orders/{order_id}/place"), None, options).await
    }

    /// `POST /orders/{order_id}/payment`.
    pub async fn confirm_payment(
        &self,
        order_id: Uuid,
        body: &wire::ConfirmPaymentV1,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        self.send(Method::POST, format!("/orders/{order_id}/payment"), Some(body), options).await
    }

    /// `POST /orders/{order_id}/shipment`.
    pub async fn ship_order(
        &self,
        order_id: Uuid,
        body: &wire::ShipOrderV1,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        self.send(Method::POST, format!("/orders/{order_id}/shipment"), Some(body), options).await
    }

    /// `POST /orders/{order_id}/delivery` (no body).
    pub async fn confirm_delivery(&self, order_id: Uuid, options: &CommandOptions) -> Result<Accepted, ClientError> {
        self.send::<()>(Method::POST, format!("/orders/{order_id}/delivery"), None, options).await
    }

    /// `POST /orders/{order_id}/cancel`.
    pub async fn cancel_order(
        &self,
        order_id: Uuid,
        body: &wire::CancelOrderV1,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        self.send(Method::POST, format!("/orders/{order_id}/cancel"), Some(body), options).await
    }

    /// `POST /orders/{order_id}/refund`.
    pub async fn refund_order(
        &self,
        order_id: Uuid,
        body: &wire::RefundOrderV1,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        self.send(Method::POST, format!("/orders/{order_id}/refund"), Some(body), options).await
    }

    /// `GET /health/ready`: true when the service and its database answer.
    pub async fn is_ready(&self) -> Result<bool, ClientError> {
        let response = self.http.get(format!("{}/health/ready", self.base_url)).send().await?;
        Ok(response.status().is_success())
    }

    /// `GET /openapi.json`.
    pub async fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        let response = self.http.get(format!("{}/openapi.json", self.base_url)).send().await?;
        Ok(response.error_for_status()?.json().await?)
    }

    async fn send<B: Serialize>(
        &self,
        method: Method,
        path: String,
        body: Option<&B>,
        options: &CommandOptions,
    ) -> Result<Accepted, ClientError> {
        let mut request = self.http.request(method, format!("{}{path}", self.base_url));
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = &options.idempotency_key {
            request = request.header("idempotency-key", key);
        }
        if let Some(version) = options.if_match {
            request = request.header(reqwest::header::IF_MATCH, format!("\"{version}\""));
        }
        if let Some(correlation_id) = &options.correlation_id {
            request = request.header(CORRELATION_ID_HEADER, correlation_id);
        }
        if let Some(actor) = &options.actor {
            request = request.header("x-actor", actor);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await?;
        let header = |headers: &HeaderMap, name: &str| {
            headers.get(name).and_then(|value| value.to_str().ok()).map(str::to_owned)
        };
        if status.is_success() {
            let body = serde_json::from_slice::<CommandAccepted>(&bytes)
                .map_err(|_| ClientError::Unexpected { status, body: String::from_utf8_lossy(&bytes).into_owned() })?;
            return Ok(Accepted {
                status,
                body,
                etag: header(&headers, "etag"),
                location: header(&headers, "location"),
                correlation_id: header(&headers, CORRELATION_ID_HEADER),
                replayed: header(&headers, REPLAYED_HEADER).as_deref() == Some("true"),
            });
        }
        match serde_json::from_slice::<Problem>(&bytes) {
            Ok(problem) => {
                Err(ClientError::Problem { status, problem, correlation_id: header(&headers, CORRELATION_ID_HEADER) })
            }
            Err(_) => Err(ClientError::Unexpected { status, body: String::from_utf8_lossy(&bytes).into_owned() }),
        }
    }
}

/// Percent-encodes a path segment (skus are plain ASCII, but a client should not build broken paths).
fn encode_segment(segment: &str) -> String {
    segment
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}
