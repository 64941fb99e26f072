-- Schema `projections`: the read views built from the event store, the checkpoints of the relay and
-- of every projection, dead letters and parked orders.
-- Owned by role orders_projections; the query API (orders_query) only reads it, the command side never does.
-- Everything is schema-qualified so other crates' migrators can share `_sqlx_migrations`.
--
-- Every view row that belongs to one order keeps the stream `version` it reflects: a projector treats an
-- event with `version <= version` as a duplicate and `version > version + 1` as a gap to fill from the store.
-- Amounts are integers in minor units of `currency` (never floats); times are UTC.

CREATE SCHEMA IF NOT EXISTS projections;

-- Where each reader of the global log stands: the relay (`relay:<stream>`) and each projection
-- (`order_views`, `order_search`). The pair (transaction_id, position) is the event store's log position
-- (xid8 as bigint, global position); compare it with a consistency token `<xid8>:<position>` as a row:
-- `(transaction_id, position) >= ($token_xid, $token_position)` means the reader has seen that event.
CREATE TABLE projections.checkpoints (
    name           text        PRIMARY KEY,
    transaction_id bigint      NOT NULL DEFAULT 0 CHECK (transaction_id >= 0),
    position       bigint      NOT NULL DEFAULT 0 CHECK (position >= 0),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- One row per order (drafts included).
-- status: draft, placed, paid, shipped, delivered, cancelled, refunded.
CREATE TABLE projections.order_summary (
    order_id          uuid        PRIMARY KEY,
    customer_id       uuid        NOT NULL,
    status            text        NOT NULL,
    currency          text        NOT NULL,
    item_count        integer     NOT NULL,
    line_count        integer     NOT NULL,
    total_minor       bigint      NOT NULL,
    paid_minor        bigint      NOT NULL DEFAULT 0,
    refund_due_minor  bigint      NOT NULL DEFAULT 0,
    refunded_minor    bigint      NOT NULL DEFAULT 0,
    recipient_name    text,
    address_line1     text,
    address_line2     text,
    city              text,
    region            text,
    postal_code       text,
    country           text,
    payment_reference text,
    carrier           text,
    tracking_number   text,
    cancel_reason     text,
    refund_reason     text,
    created_at        timestamptz NOT NULL,
    placed_at         timestamptz,
    paid_at           timestamptz,
    shipped_at        timestamptz,
    delivered_at      timestamptz,
    cancelled_at      timestamptz,
    refunded_at       timestamptz,
    updated_at        timestamptz NOT NULL,
    version           bigint      NOT NULL CHECK (version >= 1),
    last_position     bigint      NOT NULL
);

CREATE INDEX order_summary_customer_idx ON projections.order_summary (customer_id, created_at DESC);
CREATE INDEX order_summary_status_idx ON projections.order_summary (status, updated_at DESC);

-- The current lines of each order, in the order they were added (line_no from 1).
-- A removed line disappears; `order.placed` rewrites the lines as frozen in its payload.
CREATE TABLE projections.order_lines (
    order_id         uuid    NOT NULL,
    sku              text    NOT NULL,
    line_no          integer NOT NULL,
    name             text    NOT NULL,
    unit_price_minor bigint  NOT NULL,
    quantity         integer NOT NULL,
    line_total_minor bigint  NOT NULL,
    currency         text    NOT NULL,
    version          bigint  NOT NULL,
    PRIMARY KEY (order_id, sku)
);

-- Figures per customer and currency. Orders count from `order.placed`; cancellations count only orders
-- cancelled after being placed; lifetime value is what the customer paid minus what was refunded.
CREATE TABLE projections.customer_figures (
    customer_id          uuid        NOT NULL,
    currency             text        NOT NULL,
    orders_placed        bigint      NOT NULL DEFAULT 0,
    orders_cancelled     bigint      NOT NULL DEFAULT 0,
    paid_minor           bigint      NOT NULL DEFAULT 0,
    refunded_minor       bigint      NOT NULL DEFAULT 0,
    lifetime_value_minor bigint      NOT NULL DEFAULT 0,
    first_order_at       timestamptz,
    last_order_at        timestamptz,
    PRIMARY KEY (customer_id, currency)
);

-- Sales per UTC day (of the event's occurred_at) and currency.
-- revenue_minor sums confirmed payments of that day; placed_value_minor sums totals of orders placed that day;
-- cancellations count orders cancelled after being placed (drafts are not sales).
CREATE TABLE projections.daily_sales (
    sales_date            date   NOT NULL,
    currency              text   NOT NULL,
    orders_placed         bigint NOT NULL DEFAULT 0,
    placed_value_minor    bigint NOT NULL DEFAULT 0,
    payments              bigint NOT NULL DEFAULT 0,
    revenue_minor         bigint NOT NULL DEFAULT 0,
    orders_cancelled      bigint NOT NULL DEFAULT 0,
    cancelled_value_minor bigint NOT NULL DEFAULT 0,
    refunds               bigint NOT NULL DEFAULT 0,
    refunded_minor        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (sales_date, currency)
);

-- Events a projection could not apply within its retry budget. One row per (projection, event);
-- `resolved_at` is set when an operator's retry applied it.
CREATE TABLE projections.dead_letters (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    projection     text        NOT NULL,
    event_id       uuid        NOT NULL,
    order_id       uuid        NOT NULL,
    stream_version bigint      NOT NULL,
    transaction_id bigint      NOT NULL,
    global_position bigint     NOT NULL,
    event_type     text        NOT NULL,
    schema_version integer     NOT NULL,
    payload        jsonb       NOT NULL,
    error          text        NOT NULL,
    attempts       integer     NOT NULL,
    failed_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at    timestamptz,
    CONSTRAINT dead_letters_projection_event_key UNIQUE (projection, event_id)
);

CREATE INDEX dead_letters_unresolved_idx ON projections.dead_letters (projection, order_id) WHERE resolved_at IS NULL;

-- Orders a projection stopped applying because one of their events is a dead letter.
-- Later events of a parked order wait (they stay in the event store); other orders keep flowing.
-- `from_version` is the first stream version not applied.
CREATE TABLE projections.parked_orders (
    projection   text        NOT NULL,
    order_id     uuid        NOT NULL,
    from_version bigint      NOT NULL,
    event_id     uuid        NOT NULL,
    reason       text        NOT NULL,
    parked_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, order_id)
);

-- The query API reads this schema; the grant is repeated here for databases where the tables are not
-- created by orders_projections (the bootstrap's default privileges cover that role only).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_query') THEN
        GRANT USAGE ON SCHEMA projections TO orders_query;
        GRANT SELECT ON ALL TABLES IN SCHEMA projections TO orders_query;
    END IF;
END;
$$;
