//! Positions in the gap-safe global log: the `(transaction id, position)` pair used both as a
//! reader's checkpoint and as the consistency token an append hands to clients.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A point in the global log: the writing transaction's id (`xid8`) and the event's global position.
///
/// The global log is ordered by `(transaction_id, position)`, never by position alone:
/// positions are taken at INSERT time but become visible at COMMIT time, so they can appear out of order.
/// `Ord` compares `transaction_id` first, then `position`, which is exactly the log order.
/// `LogPosition::START` sorts before every event.
///
/// Its text form is `<xid8>:<position>` (for example `7432:1051`), both decimal.
/// The same type serves as a reader's checkpoint and as a [`ConsistencyToken`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct LogPosition {
    /// The `xid8` of the transaction that wrote the event (epoch-extended, never wraps).
    pub transaction_id: u64,
    /// The event's `global_position`, unique across all streams.
    pub position: i64,
}

/// The consistency token of an append: the [`LogPosition`] of its last event.
///
/// A client carries it in its text form `<xid8>:<position>`.
/// A reader whose checkpoint is at or past the token (see [`LogPosition::covers`]) has seen every
/// event of that append and of every append that committed before it started.
pub type ConsistencyToken = LogPosition;

impl LogPosition {
    /// The position before the first event: reading from here returns the whole log.
    pub const START: LogPosition = LogPosition { transaction_id: 0, position: 0 };

    /// Makes a position from its two parts.
    pub const fn new(transaction_id: u64, position: i64) -> Self {
        Self { transaction_id, position }
    }

    /// True when a reader whose checkpoint is `self` has already seen the event at `token`.
    pub fn covers(&self, token: &ConsistencyToken) -> bool {
        self >= token
    }
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.transaction_id, self.position)
    }
}

/// The text is not of the form `<xid8>:<position>` with two non-negative decimal numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid log position {input:?}: expected <transaction id>:<position>, two non-negative integers")]
pub struct ParseLogPositionError {
    input: String,
}

impl FromStr for LogPosition {
    type Err = ParseLogPositionError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let invalid = || ParseLogPositionError { input: input.chars().take(64).collect() };
        let (transaction_id, position) = input.trim().split_once(':').ok_or_else(invalid)?;
        let is_digits = |text: &str| !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit());
        if !is_digits(transaction_id) || !is_digits(position) {
            return Err(invalid());
        }
        Ok(LogPosition {
            transaction_id: transaction_id.parse().map_err(|_| invalid())?,
            position: position.parse().map_err(|_| invalid())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_position_round_trips_through_its_text_form() {
        let position = LogPosition::new(7432, 1051);
        assert_eq!(position.to_string(), "7432:1051");
        assert_eq!("7432:1051".parse::<LogPosition>(), Ok(position));
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        for input in ["", "12", "a:1", "1:", ":1", "1:-2", "1:2:3", "99999999999999999999:1"] {
            assert!(input.parse::<LogPosition>().is_err(), "{input} should be rejected");
        }
    }

    #[test]
    fn positions_order_by_transaction_first_then_position() {
        let older_transaction_later_position = LogPosition::new(10, 500);
        let newer_transaction_earlier_position = LogPosition::new(11, 3);
        assert!(older_transaction_later_position < newer_transaction_earlier_position);
        assert!(newer_transaction_earlier_position.covers(&older_transaction_later_position));
        assert!(!LogPosition::START.covers(&older_transaction_later_position));
        assert!(older_transaction_later_position.covers(&older_transaction_later_position));
    }
}
