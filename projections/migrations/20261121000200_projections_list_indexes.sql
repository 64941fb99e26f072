-- Indexes for the query API's order lists: keyset pagination sorts by (created_at DESC, order_id DESC),
-- optionally filtered by status or by a placed_at range. Without them every page sorts the whole table.
CREATE INDEX IF NOT EXISTS order_summary_created_idx
    ON projections.order_summary (created_at DESC, order_id DESC);
CREATE INDEX IF NOT EXISTS order_summary_status_created_idx
    ON projections.order_summary (status, created_at DESC, order_id DESC);
CREATE INDEX IF NOT EXISTS order_summary_placed_idx
    ON projections.order_summary (placed_at) WHERE placed_at IS NOT NULL;
