//! Opaque keyset cursors: base64url (no padding) of the sort key of the last item of a page.
//!
//! A cursor is opaque to clients but not trusted: decoding checks the alphabet, the kind and version tag,
//! and every part of the key, so a tampered cursor is a 400 `invalid-cursor`, never a database error.

use chrono::DateTime;
use chrono::Utc;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;

/// Longest cursor accepted, in characters; real ones are about 70.
const MAX_CURSOR_CHARS: usize = 512;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Base64url without padding (RFC 4648 §5).
pub(crate) fn base64url_encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let block = match chunk {
            [a, b, c] => u32::from(*a) << 16 | u32::from(*b) << 8 | u32::from(*c),
            [a, b] => u32::from(*a) << 16 | u32::from(*b) << 8,
            [a] => u32::from(*a) << 16,
            _ => 0,
        };
        let symbols = chunk.len() + 1;
        for index in 0..symbols {
            let sextet = (block >> (18 - 6 * index)) & 0x3f;
            text.push(char::from(ALPHABET[sextet as usize]));
        }
    }
    text
}

/// Decodes base64url without padding; `None` for any other character, a bad length or stray bits.
pub(crate) fn base64url_decode(text: &str) -> Option<Vec<u8>> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    for chunk in text.as_bytes().chunks(4) {
        let mut block = 0u32;
        for (index, symbol) in chunk.iter().enumerate() {
            let value = ALPHABET.iter().position(|candidate| candidate == symbol)?;
            block |= (value as u32) << (18 - 6 * index);
        }
        let decoded = [(block >> 16) as u8, (block >> 8) as u8, block as u8];
        let length = chunk.len() - 1;
        // Bits beyond the last whole byte must be zero, so each byte string has exactly one encoding.
        if length < 3 && decoded[length..].iter().any(|byte| *byte != 0) {
            return None;
        }
        bytes.extend_from_slice(&decoded[..length]);
    }
    Some(bytes)
}

fn decode_text(cursor: &str) -> Result<String, ApiError> {
    if cursor.len() > MAX_CURSOR_CHARS {
        return Err(ApiError::InvalidCursor("it is too long".to_owned()));
    }
    let bytes = base64url_decode(cursor).ok_or_else(|| ApiError::InvalidCursor("it is not base64url".to_owned()))?;
    String::from_utf8(bytes).map_err(|_| ApiError::InvalidCursor("it does not decode".to_owned()))
}

/// Position in the order listings, sorted by `created_at` descending, then `order_id` descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListCursor {
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) order_id: Uuid,
}

impl ListCursor {
    const TAG: &'static str = "o1";

    pub(crate) fn encode(&self) -> String {
        base64url_encode(
            format!("{}|{}|{}", Self::TAG, self.created_at.timestamp_micros(), self.order_id.simple()).as_bytes(),
        )
    }

    pub(crate) fn decode(cursor: &str) -> Result<Self, ApiError> {
        let text = decode_text(cursor)?;
        let invalid = || ApiError::InvalidCursor("it is not an order listing cursor".to_owned());
        let mut parts = text.split('|');
        let (Some(Self::TAG), Some(micros), Some(order_id), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?;
        let order_id = Uuid::try_parse(order_id).map_err(|_| invalid())?;
        Ok(Self { created_at, order_id })
    }
}

/// How search results are sorted; the cursor of one order cannot continue the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchSort {
    /// By score, then newest first (when there is a text query).
    Relevance,
    /// Newest first (filters only).
    Newest,
}

/// Position in a search: Elasticsearch's `sort` values of the last hit, for `search_after`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SearchCursor {
    pub(crate) sort: SearchSort,
    pub(crate) after: Vec<Value>,
}

impl SearchCursor {
    const TAG: &'static str = "s1";

    pub(crate) fn encode(&self) -> String {
        let mode = match self.sort {
            SearchSort::Relevance => "r",
            SearchSort::Newest => "n",
        };
        let values = Value::Array(self.after.clone()).to_string();
        base64url_encode(format!("{}|{mode}|{values}", Self::TAG).as_bytes())
    }

    /// Decodes a cursor and checks that it belongs to a search sorted by `expected`.
    pub(crate) fn decode(cursor: &str, expected: SearchSort) -> Result<Self, ApiError> {
        let text = decode_text(cursor)?;
        let invalid = || ApiError::InvalidCursor("it is not a search cursor".to_owned());
        let mut parts = text.splitn(3, '|');
        let (Some(Self::TAG), Some(mode), Some(values)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid());
        };
        let sort = match mode {
            "r" => SearchSort::Relevance,
            "n" => SearchSort::Newest,
            _ => return Err(invalid()),
        };
        if sort != expected {
            return Err(ApiError::InvalidCursor(
                "it continues a search sorted another way (with or without q)".to_owned(),
            ));
        }
        let Ok(Value::Array(after)) = serde_json::from_str::<Value>(values) else { return Err(invalid()) };
        // Score (relevance only), created_at in epoch milliseconds, order id.
        let shape_ok = match (sort, after.as_slice()) {
            (SearchSort::Relevance, [score, created, order_id]) => {
                score.is_number() && created.is_i64() && order_id.as_str().is_some_and(|id| Uuid::try_parse(id).is_ok())
            }
            (SearchSort::Newest, [created, order_id]) => {
                created.is_i64() && order_id.as_str().is_some_and(|id| Uuid::try_parse(id).is_ok())
            }
            _ => false,
        };
        if !shape_ok {
            return Err(invalid());
        }
        Ok(Self { sort, after })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn base64url_round_trips_every_length() {
        for length in 0..40usize {
            let bytes: Vec<u8> = (0..length).map(|index| (index * 37 + 250) as u8).collect();
            let text = base64url_encode(&bytes);
            assert!(text.bytes().all(|byte| ALPHABET.contains(&byte)), "{text}");
            assert_eq!(base64url_decode(&text), Some(bytes), "{text}");
        }
        assert_eq!(base64url_encode(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw");
    }

    #[test]
    fn base64url_refuses_foreign_characters_bad_lengths_and_stray_bits() {
        for text in ["a", "ab+c", "ab/c", "abc=", "YR", "%%%%", "a b c"] {
            assert_eq!(base64url_decode(text), None, "{text}");
        }
    }

    #[test]
    fn a_list_cursor_round_trips() {
        let cursor = ListCursor {
            created_at: DateTime::from_timestamp_micros(1_767_225_600_123_456).expect("a valid time"),
            order_id: Uuid::now_v7(),
        };
        assert_eq!(ListCursor::decode(&cursor.encode()).expect("decodes"), cursor);
    }

    #[test]
    fn tampered_list_cursors_are_refused() {
        let foreign = [
            base64url_encode(b"o1|abc|0190f5d27c3a7b8e9a412f6d8c1e5b07"),
            base64url_encode(b"o1|1|not-a-uuid"),
            base64url_encode(b"o2|1|0190f5d27c3a7b8e9a412f6d8c1e5b07"),
            base64url_encode(b"o1|9223372036854775807|0190f5d27c3a7b8e9a412f6d8c1e5b07"),
            base64url_encode(b"o1|1|0190f5d27c3a7b8e9a412f6d8c1e5b07|extra"),
            "!!!!".to_owned(),
            "A".repeat(600),
        ];
        for cursor in foreign {
            assert!(matches!(ListCursor::decode(&cursor), Err(ApiError::InvalidCursor(_))), "{cursor}");
        }
    }

    #[test]
    fn a_search_cursor_round_trips_and_belongs_to_its_sort() {
        let cursor = SearchCursor {
            sort: SearchSort::Relevance,
            after: vec![json!(1.25), json!(1_767_225_600_123_i64), json!(Uuid::now_v7().to_string())],
        };
        let text = cursor.encode();
        assert_eq!(SearchCursor::decode(&text, SearchSort::Relevance).expect("decodes"), cursor);
        assert!(matches!(SearchCursor::decode(&text, SearchSort::Newest), Err(ApiError::InvalidCursor(_))));
        let list_cursor = ListCursor { created_at: Utc::now(), order_id: Uuid::now_v7() }.encode();
        assert!(SearchCursor::decode(&list_cursor, SearchSort::Newest).is_err());
        let wrong_shape = base64url_encode(br#"s1|n|[{"script":"x"},"y"]"#);
        assert!(SearchCursor::decode(&wrong_shape, SearchSort::Newest).is_err());
    }
}
