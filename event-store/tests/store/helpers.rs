//! Small builders shared by the tests.

use event_store::{Metadata, NewEvent, StreamRef};
use serde_json::json;
use uuid::Uuid;

pub(crate) fn order_stream() -> StreamRef {
    StreamRef::new(Uuid::now_v7(), "order")
}

pub(crate) fn command() -> Metadata {
    let mut metadata = Metadata::for_command(Uuid::now_v7());
    metadata.actor = Some("tester".to_owned());
    metadata
}

pub(crate) fn event(n: usize) -> NewEvent {
    NewEvent::new("order.line_added", 1, json!({"line": n, "sku": format!("SKU-{n}")}))
}

pub(crate) fn events(count: usize) -> Vec<NewEvent> {
    (0..count).map(event).collect()
}
