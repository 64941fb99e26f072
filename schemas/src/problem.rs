//! The RFC 9457 problem+json body shared by every HTTP service, and the field error it lists.
//!
//! Which `type` URI goes with which situation is decided by the HTTP crates, not here.

use serde::Deserialize;
use serde::Serialize;

/// Media type to send with a [`Problem`] body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";

/// An RFC 9457 problem details body, as every HTTP service of the system returns it for errors.
///
/// `problem_type` is serialised as `type`; it is a stable URI reference such as
/// `/problems/validation-failed` and each one has a fixed `title`.
/// `detail` describes this occurrence in words a client may show and never contains internal text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Stable URI reference naming the kind of problem (`type` on the wire).
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short summary that is the same for every occurrence of this `type`.
    pub title: String,
    /// HTTP status code, repeated in the body for clients that lose the header.
    pub status: u16,
    /// Human-readable explanation of this occurrence.
    pub detail: String,
    /// URI reference of the request that failed, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Machine-readable rule name (for example `payment_amount_mismatch`), when the problem comes from a domain rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// One entry per offending field, for validation failures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// One reason a document was rejected, located by a JSON pointer into that document.
///
/// `field` is an RFC 6901 JSON pointer into the instance (for example `/quantity` or
/// `/shipping_address/country`); the empty string means the document as a whole.
/// It is called `field` on the wire so that it fits the `errors` member of [`Problem`] unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON pointer (RFC 6901) to the offending value in the instance.
    pub field: String,
    /// What is wrong with the value, in words a client may show.
    pub message: String,
}

impl FieldError {
    /// Builds a field error from a JSON pointer and a message.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: pointer.into(), message: message.into() }
    }

    /// The JSON pointer of the offending value (the same as `field`).
    pub fn pointer(&self) -> &str {
        &self.field
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(formatter, "(document): {}", self.message)
        } else {
            write!(formatter, "{}: {}", self.field, self.message)
        }
    }
}
