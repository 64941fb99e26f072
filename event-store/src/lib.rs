//! event-store
