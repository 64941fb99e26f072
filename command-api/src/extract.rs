//! Our own extractors, whose rejections are `ApiError`s and therefore problem+json:
//! `CommandJson` (media type, size, JSON syntax, then the command's JSON Schema from `schemas`),
//! `OrderPath`/`ItemPath` (ids in the path) and `CommandHeaders` (`If-Match`, `Idempotency-Key`, `X-Actor`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::extract::Path;
use axum::extract::Request;
use axum::http::header;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::http::StatusCode;
use schemas::order as wire;
use schemas::order::command_name;
use schemas::FieldError;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// A command body type, tied to the name of its JSON Schema in `schemas`.
pub(crate) trait CommandBody: DeserializeOwned {
    /// The command name, which is also the schema name.
    const NAME: &'static str;
    /// Whether an absent body means `{}` (commands whose schema has no members).
    const MAY_BE_EMPTY: bool = false;
}

macro_rules! command_body {
    ($body:ty, $name:expr) => {
        impl CommandBody for $body {
            const NAME: &'static str = $name;
        }
    };
    ($body:ty, $name:expr, empty) => {
        impl CommandBody for $body {
            const NAME: &'static str = $name;
            const MAY_BE_EMPTY: bool = true;
        }
    };
}

command_body!(wire::CreateOrderV1, command_name::CREATE_ORDER);
command_body!(wire::AddItemV1, command_name::ADD_ITEM);
command_body!(wire::RemoveItemV1, command_name::REMOVE_ITEM, empty);
command_body!(wire::ChangeItemQuantityV1, command_name::CHANGE_ITEM_QUANTITY);
command_body!(wire::SetShippingAddressV1, command_name::SET_SHIPPING_ADDRESS);
command_body!(wire::PlaceOrderV1, command_name::PLACE_ORDER, empty);
command_body!(wire::ConfirmPaymentV1, command_name::CONFIRM_PAYMENT);
command_body!(wire::ShipOrderV1, command_name::SHIP_ORDER);
command_body!(wire::ConfirmDeliveryV1, command_name::CONFIRM_DELIVERY, empty);
command_body!(wire::CancelOrderV1, command_name::CANCEL_ORDER);
command_body!(wire::RefundOrderV1, command_name::REFUND_ORDER, empty);

/// The version of every command schema this service accepts.
pub(crate) const COMMAND_SCHEMA_VERSION: u32 = 1;

/// A command body that passed its JSON Schema, with the JSON document it came from
/// (the document is part of the idempotency fingerprint).
#[derive(Debug)]
pub(crate) struct CommandJson<T> {
    pub(crate) body: T,
    pub(crate) document: Value,
}

impl<T: CommandBody> FromRequest<AppState> for CommandJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = request.headers().get(header::CONTENT_TYPE).cloned();
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| match rejection {
            rejection if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::PayloadTooLarge { limit: state.limits().max_body_bytes }
            }
            BytesRejection::FailedToBufferBody(_) => {
                ApiError::Malformed("the request body could not be read".to_owned())
            }
            other => ApiError::Malformed(other.body_text()),
        })?;
        let document = if bytes.iter().all(u8::is_ascii_whitespace) && T::MAY_BE_EMPTY {
            Value::Object(serde_json::Map::new())
        } else {
            if !is_json(content_type.as_ref().and_then(|value| value.to_str().ok())) {
                return Err(ApiError::UnsupportedMediaType(
                    "the request body must be JSON, sent with Content-Type: application/json".to_owned(),
                ));
            }
            serde_json::from_slice::<Value>(&bytes)
                .map_err(|error| ApiError::Malformed(format!("the request body is not valid JSON: {error}")))?
        };
        schemas::validate_command(T::NAME, COMMAND_SCHEMA_VERSION, &document).map_err(ApiError::Invalid)?;
        let body = serde_json::from_value::<T>(document.clone())
            .map_err(|error| ApiError::Invalid(vec![FieldError::new("", error.to_string())]))?;
        Ok(Self { body, document })
    }
}

/// `application/json` or any `application/*+json`, with or without parameters.
fn is_json(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else { return false };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The order id of `/orders/{order_id}/...`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrderPath(pub(crate) Uuid);

impl<S: Send + Sync> FromRequestParts<S> for OrderPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(order_id) = Path::<Uuid>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Malformed("the order id in the path is not a uuid".to_owned()))?;
        Ok(Self(order_id))
    }
}

/// The order id and sku of `/orders/{order_id}/items/{sku}`.
#[derive(Debug, Clone)]
pub(crate) struct ItemPath(pub(crate) Uuid, pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for ItemPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path((order_id, sku)) = Path::<(Uuid, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::Malformed("the order id in the path is not a uuid".to_owned()))?;
        Ok(Self(order_id, sku))
    }
}

/// Actor recorded when the request names none.
pub(crate) const ANONYMOUS_ACTOR: &str = "anonymous";

/// The headers that shape a command: optimistic concurrency, idempotency and the actor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandHeaders {
    /// `If-Match: "<version>"`: the version the command expects; `*` or absent means none.
    pub(crate) if_match: Option<i64>,
    /// `Idempotency-Key`: 1 to 255 visible ASCII characters.
    pub(crate) idempotency_key: Option<String>,
    /// `X-Actor`, or `anonymous`.
    pub(crate) actor: String,
}

impl<S: Send + Sync> FromRequestParts<S> for CommandHeaders {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::parse(&parts.headers)
    }
}

impl CommandHeaders {
    pub(crate) fn parse(headers: &HeaderMap) -> Result<Self, ApiError> {
        let text = |name: &str| -> Result<Option<String>, ApiError> {
            headers
                .get(name)
                .map(|value| {
                    value
                        .to_str()
                        .map(|text| text.trim().to_owned())
                        .map_err(|_| ApiError::Malformed(format!("the {name} header must be visible ASCII")))
                })
                .transpose()
        };
        let if_match = text(header::IF_MATCH.as_str())?.map(|value| parse_if_match(&value)).transpose()?.flatten();
        let idempotency_key = text("idempotency-key")?;
        if let Some(key) = &idempotency_key {
            if key.is_empty() || key.len() > 255 {
                return Err(ApiError::Malformed("the Idempotency-Key header must be 1 to 255 characters".to_owned()));
            }
        }
        let actor = text("x-actor")?.unwrap_or_else(|| ANONYMOUS_ACTOR.to_owned());
        if actor.is_empty() || actor.len() > 200 {
            return Err(ApiError::Malformed("the X-Actor header must be 1 to 200 characters".to_owned()));
        }
        Ok(Self { if_match, idempotency_key, actor })
    }
}

/// `"3"`, `3` or `W/"3"` is version 3; `*` is no expectation.
fn parse_if_match(value: &str) -> Result<Option<i64>, ApiError> {
    if value == "*" {
        return Ok(None);
    }
    let unquoted = value.strip_prefix("W/").unwrap_or(value);
    let unquoted = unquoted.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).unwrap_or(unquoted);
    unquoted.parse::<i64>().ok().filter(|version| *version >= 0).map(Some).ok_or_else(|| {
        ApiError::Malformed(format!(
            "If-Match must be one order version as returned in ETag, for example \"3\"; got {value:?}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_accepts_the_etag_forms() {
        assert_eq!(parse_if_match("\"3\"").ok(), Some(Some(3)));
        assert_eq!(parse_if_match("3").ok(), Some(Some(3)));
        assert_eq!(parse_if_match("W/\"12\"").ok(), Some(Some(12)));
        assert_eq!(parse_if_match("*").ok(), Some(None));
        for bad in ["\"-1\"", "abc", "\"1\", \"2\"", ""] {
            assert!(parse_if_match(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_media_types_are_recognised() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(is_json(Some("application/merge-patch+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }
}
