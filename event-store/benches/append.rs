//! Placeholder replaced by the append benchmark.
fn main() {}
