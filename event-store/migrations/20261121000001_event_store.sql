-- Event store schema: append-only events (which also hold the command idempotency records),
-- snapshots, HTTP idempotency responses.
-- Everything is schema-qualified so other crates' migrators can share `_sqlx_migrations`.

CREATE SCHEMA IF NOT EXISTS event_store;

-- The events table is the source of truth and the outbox.
-- `transaction_id` is the writing transaction's xid8; readers of the global log only hand out
-- events of transactions older than the oldest running one, ordered by (transaction_id, global_position),
-- which is therefore the primary key.
-- `command_id` is set on the first event of each append only: it makes command ids unique, and the
-- original result of a command is that row plus the stream's later rows of the same transaction.
CREATE TABLE event_store.events (
    global_position bigint      GENERATED ALWAYS AS IDENTITY,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       uuid        NOT NULL,
    stream_type     text        NOT NULL,
    version         bigint      NOT NULL CHECK (version >= 1),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    payload         jsonb       NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    metadata        jsonb       NOT NULL CHECK (jsonb_typeof(metadata) = 'object'),
    recorded_at     timestamptz NOT NULL,
    command_id      uuid,
    -- The RFC 8785 canonical JSON bytes of the envelope that were hashed (jsonb reorders keys).
    envelope        bytea       NOT NULL,
    -- SHA-256(previous hash of the stream || envelope); the previous hash of version 1 is 32 zero bytes.
    hash            bytea       NOT NULL CHECK (octet_length(hash) = 32),
    CONSTRAINT events_pkey PRIMARY KEY (transaction_id, global_position),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

-- Partial, so a batch adds one entry, not one per event.
CREATE UNIQUE INDEX events_command_id_key ON event_store.events (command_id) WHERE command_id IS NOT NULL;

-- History is immutable: the database refuses UPDATE, DELETE and TRUNCATE of events.
CREATE FUNCTION event_store.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'event_store.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_immutable_rows
    BEFORE UPDATE OR DELETE ON event_store.events
    FOR EACH ROW EXECUTE FUNCTION event_store.refuse_change();
CREATE TRIGGER events_immutable_table
    BEFORE TRUNCATE ON event_store.events
    FOR EACH STATEMENT EXECUTE FUNCTION event_store.refuse_change();

-- The hash chain of a batch: element i is SHA-256(element i-1 || envelopes[i]), element 0 being `previous`.
CREATE FUNCTION event_store.chain_hashes(previous bytea, envelopes bytea[]) RETURNS bytea[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    current_hash bytea := previous;
    hashes bytea[] := '{}';
    envelope bytea;
BEGIN
    FOREACH envelope IN ARRAY envelopes LOOP
        current_hash := sha256(current_hash || envelope);
        hashes := hashes || current_hash;
    END LOOP;
    RETURN hashes;
END;
$$;

-- Aggregate snapshots: the latest one per stream and snapshot schema version.
-- A snapshot is a cache: it may be replaced or deleted at any time.
CREATE TABLE event_store.snapshots (
    stream_id      uuid        NOT NULL,
    schema_version integer     NOT NULL,
    version        bigint      NOT NULL CHECK (version >= 1),
    state          jsonb       NOT NULL,
    taken_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, schema_version)
);

-- Stored HTTP responses of idempotent requests (Idempotency-Key header of the command API).
CREATE TABLE event_store.idempotency_keys (
    idempotency_key     text        PRIMARY KEY CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    request_fingerprint text        NOT NULL,
    status              smallint    NOT NULL CHECK (status BETWEEN 100 AND 599),
    content_type        text        NOT NULL,
    body                bytea       NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX idempotency_keys_created_at_idx ON event_store.idempotency_keys (created_at);

-- Grants for the roles of the local stack, when they exist (they are cluster-wide, so test
-- databases of a bare cluster simply skip this).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_events') THEN
        GRANT USAGE ON SCHEMA event_store TO orders_events;
        GRANT SELECT, INSERT ON event_store.events TO orders_events;
        GRANT SELECT, INSERT, UPDATE, DELETE ON event_store.snapshots, event_store.idempotency_keys TO orders_events;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_projections') THEN
        GRANT USAGE ON SCHEMA event_store TO orders_projections;
        GRANT SELECT ON ALL TABLES IN SCHEMA event_store TO orders_projections;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_query') THEN
        GRANT USAGE ON SCHEMA event_store TO orders_query;
        GRANT SELECT ON ALL TABLES IN SCHEMA event_store TO orders_query;
    END IF;
END;
$$;
