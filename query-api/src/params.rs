//! Query-string parsing with problem+json refusals: `QueryParams` takes the raw pairs, refuses unknown
//! and repeated names, and `ParamReader` parses each value while collecting every error, so one 400
//! names all bad parameters at once.

use axum::extract::FromRequestParts;
use axum::extract::Query;
use axum::http::request::Parts;
use chrono::DateTime;
use chrono::NaiveDate;
use chrono::Utc;
use schemas::FieldError;
use uuid::Uuid;

use crate::error::ApiError;

/// Default page size of the listings.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page size of the listings.
pub const MAX_PAGE_SIZE: u32 = 200;
/// The order statuses a filter may name, as stored in the views and the index.
pub(crate) const STATUSES: [&str; 7] = ["draft", "placed", "paid", "shipped", "delivered", "cancelled", "refunded"];

/// The query string as name/value pairs, in order.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::Malformed("the query string is not valid form encoding".to_owned()))?;
        Ok(Self { pairs })
    }
}

impl QueryParams {
    /// The value of a parameter (the first one; `reader` refuses repeats).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// A reader that accepts only `allowed` names, each at most once.
    pub(crate) fn reader(&self, allowed: &[&str]) -> ParamReader<'_> {
        let mut errors = Vec::new();
        for (index, (name, _)) in self.pairs.iter().enumerate() {
            if !allowed.contains(&name.as_str()) {
                errors.push(FieldError::new(
                    format!("/{}", printable(name)),
                    format!("unknown parameter; this route accepts {}", allowed.join(", ")),
                ));
            } else if self.pairs[..index].iter().any(|(earlier, _)| earlier == name) {
                errors.push(FieldError::new(format!("/{name}"), "given more than once"));
            }
        }
        ParamReader { params: self, errors }
    }
}

/// Parses parameters one by one and remembers every failure.
#[derive(Debug)]
pub(crate) struct ParamReader<'a> {
    params: &'a QueryParams,
    errors: Vec<FieldError>,
}

impl ParamReader<'_> {
    fn fail(&mut self, name: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(format!("/{name}"), message));
    }

    /// The raw value; an empty value counts as absent.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.params.get(name).filter(|value| !value.is_empty()).map(str::to_owned)
    }

    /// Text of at most `max_chars` characters, trimmed; empty after trimming counts as absent.
    pub(crate) fn bounded_text(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let value = self.text(name)?;
        let trimmed = value.trim();
        if trimmed.chars().count() > max_chars {
            self.fail(name, format!("at most {max_chars} characters"));
            return None;
        }
        (!trimmed.is_empty()).then(|| trimmed.to_owned())
    }

    /// A uuid.
    pub(crate) fn uuid(&mut self, name: &str) -> Option<Uuid> {
        let value = self.text(name)?;
        match Uuid::try_parse(&value) {
            Ok(uuid) => Some(uuid),
            Err(_) => {
                self.fail(name, "not a uuid");
                None
            }
        }
    }

    /// An RFC 3339 timestamp with an offset (`2026-01-31T12:00:00Z`).
    pub(crate) fn timestamp(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let value = self.text(name)?;
        match DateTime::parse_from_rfc3339(&value) {
            Ok(timestamp) => Some(timestamp.with_timezone(&Utc)),
            Err(_) => {
                self.fail(name, "not an RFC 3339 timestamp with an offset, for example 2026-01-31T12:00:00Z");
                None
            }
        }
    }

    /// A calendar date (`2026-01-31`).
    pub(crate) fn date(&mut self, name: &str) -> Option<NaiveDate> {
        let value = self.text(name)?;
        match NaiveDate::parse_from_str(&value, "%Y-%m-%d") {
            Ok(date) => Some(date),
            Err(_) => {
                self.fail(name, "not a date of the form YYYY-MM-DD");
                None
            }
        }
    }

    /// An integer in `min..=max`.
    pub(crate) fn integer(&mut self, name: &str, min: i64, max: i64) -> Option<i64> {
        let value = self.text(name)?;
        match value.parse::<i64>() {
            Ok(number) if (min..=max).contains(&number) => Some(number),
            _ => {
                self.fail(name, format!("an integer from {min} to {max}"));
                None
            }
        }
    }

    /// A page size: `default` when absent, at most `max`.
    pub(crate) fn limit(&mut self, default: u32, max: u32) -> u32 {
        self.integer("limit", 1, i64::from(max)).and_then(|limit| u32::try_from(limit).ok()).unwrap_or(default)
    }

    /// A comma-separated list of order statuses.
    pub(crate) fn statuses(&mut self, name: &str) -> Option<Vec<String>> {
        let value = self.text(name)?;
        let mut statuses = Vec::new();
        for status in value.split(',').map(str::trim) {
            if !STATUSES.contains(&status) {
                self.fail(
                    name,
                    format!("unknown status {:?}; one or more of {}", printable(status), STATUSES.join(", ")),
                );
                return None;
            }
            if !statuses.iter().any(|known: &String| known == status) {
                statuses.push(status.to_owned());
            }
        }
        Some(statuses)
    }

    /// An ISO 4217 currency code (three upper-case letters).
    pub(crate) fn currency(&mut self, name: &str) -> Option<String> {
        let value = self.text(name)?;
        if value.len() == 3 && value.bytes().all(|byte| byte.is_ascii_uppercase()) {
            Some(value)
        } else {
            self.fail(name, "three upper-case letters (ISO 4217), for example EUR");
            None
        }
    }

    /// An ISO 3166-1 alpha-2 country code (two upper-case letters).
    pub(crate) fn country(&mut self, name: &str) -> Option<String> {
        let value = self.text(name)?;
        if value.len() == 2 && value.bytes().all(|byte| byte.is_ascii_uppercase()) {
            Some(value)
        } else {
            self.fail(name, "two upper-case letters (ISO 3166-1 alpha-2), for example DE");
            None
        }
    }

    /// Records a failure found by the caller (for example `from` after `to`).
    pub(crate) fn reject(&mut self, name: &str, message: impl Into<String>) {
        self.fail(name, message);
    }

    /// `Ok` when every parameter was valid, else one 400 naming all of them.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidParameters(self.errors))
        }
    }
}

/// At most 64 characters of a client's text, for messages.
fn printable(text: &str) -> String {
    text.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> QueryParams {
        QueryParams { pairs: pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect() }
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused_together() {
        let query = params(&[("stauts", "paid"), ("limit", "5"), ("limit", "6")]);
        let reader = query.reader(&["status", "limit"]);
        let Err(ApiError::InvalidParameters(errors)) = reader.finish() else { panic!("expected a refusal") };
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(fields, ["/stauts", "/limit"]);
    }

    #[test]
    fn every_bad_value_is_reported() {
        let query = params(&[
            ("status", "paid,lost"),
            ("limit", "201"),
            ("placed_from", "yesterday"),
            ("currency", "eur"),
            ("customer_id", "42"),
        ]);
        let mut reader = query.reader(&["status", "limit", "placed_from", "currency", "customer_id"]);
        assert_eq!(reader.statuses("status"), None);
        assert_eq!(reader.limit(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE), DEFAULT_PAGE_SIZE);
        assert_eq!(reader.timestamp("placed_from"), None);
        assert_eq!(reader.currency("currency"), None);
        assert_eq!(reader.uuid("customer_id"), None);
        let Err(ApiError::InvalidParameters(errors)) = reader.finish() else { panic!("expected a refusal") };
        assert_eq!(errors.len(), 5);
    }

    #[test]
    fn good_values_parse() {
        let query =
            params(&[("status", "paid, shipped,paid"), ("limit", "200"), ("placed_from", "2026-01-31T12:00:00+01:00")]);
        let mut reader = query.reader(&["status", "limit", "placed_from"]);
        assert_eq!(reader.statuses("status"), Some(vec!["paid".to_owned(), "shipped".to_owned()]));
        assert_eq!(reader.limit(DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE), 200);
        assert_eq!(
            reader.timestamp("placed_from").map(|timestamp| timestamp.to_rfc3339()),
            Some("2026-01-31T11:00:00+00:00".to_owned())
        );
        assert!(reader.finish().is_ok());
    }
}
