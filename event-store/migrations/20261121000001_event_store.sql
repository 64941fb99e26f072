-- Event store schema: append-only events, command idempotency records, snapshots,
-- HTTP idempotency responses, and the append function.
-- Everything is schema-qualified so other crates' migrators can share `_sqlx_migrations`.

CREATE SCHEMA IF NOT EXISTS event_store;

-- The events table is the source of truth and the outbox.
-- `transaction_id` is the writing transaction's xid8; readers of the global log only hand out
-- events of transactions older than the oldest running one, ordered by (transaction_id, global_position).
CREATE TABLE event_store.events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    command_id      uuid        NOT NULL,
    -- The RFC 8785 canonical JSON bytes of the envelope that were hashed (jsonb reorders keys).
    envelope        bytea       NOT NULL,
    -- SHA-256(previous hash of the stream || envelope); the previous hash of version 1 is 32 zero bytes.
    hash            bytea       NOT NULL CHECK (octet_length(hash) = 32),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
    CONSTRAINT events_event_id_key UNIQUE (event_id)
);

CREATE INDEX events_transaction_position_idx
    ON event_store.events (transaction_id, global_position);

-- One row per command that appended events: the command id is unique, and the row keeps
-- the original result so a retried command gets the same versions and positions back.
CREATE TABLE event_store.commands (
    command_id     uuid        PRIMARY KEY,
    stream_id      uuid        NOT NULL,
    first_version  bigint      NOT NULL,
    last_version   bigint      NOT NULL,
    transaction_id xid8        NOT NULL DEFAULT pg_current_xact_id(),
    last_position  bigint      NOT NULL,
    recorded_at    timestamptz NOT NULL
);

-- History is immutable: the database refuses UPDATE, DELETE and TRUNCATE on events and command records.
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
CREATE TRIGGER commands_immutable_rows
    BEFORE UPDATE OR DELETE ON event_store.commands
    FOR EACH ROW EXECUTE FUNCTION event_store.refuse_change();
CREATE TRIGGER commands_immutable_table
    BEFORE TRUNCATE ON event_store.commands
    FOR EACH STATEMENT EXECUTE FUNCTION event_store.refuse_change();

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

-- The append, in one statement so it costs one round trip and one implicit transaction.
-- It must be the first write of its transaction (the xid8 is assigned by the INSERT, after the
-- version check read the stream head), which holds because it runs as its own statement in autocommit.
-- Outcomes: 'appended', 'deduplicated' (command id already stored: the original result),
-- 'conflict' (stream_version is the actual version), 'stream_type_mismatch' (stream_type is the stored one).
-- A concurrent append of the same version or command id surfaces as unique violation 23505,
-- which the Rust side turns into a conflict or a deduplicated result.
CREATE FUNCTION event_store.append_events(
    p_stream_id        uuid,
    p_stream_type      text,
    p_expected_version bigint,
    p_command_id       uuid,
    p_metadata         jsonb,
    p_recorded_at      timestamptz,
    p_event_ids        uuid[],
    p_event_types      text[],
    p_schema_versions  integer[],
    p_payloads         jsonb[],
    p_envelopes        bytea[]
) RETURNS TABLE (
    outcome        text,
    stream_id      uuid,
    stream_type    text,
    first_version  bigint,
    stream_version bigint,
    transaction_id bigint,
    positions      bigint[],
    event_ids      uuid[]
)
LANGUAGE plpgsql AS $$
DECLARE
    v_command      event_store.commands%ROWTYPE;
    v_head_version bigint;
    v_head_hash    bytea;
    v_head_type    text;
    v_hash         bytea;
    v_hashes       bytea[] := '{}';
    i              integer;
BEGIN
    SELECT c.* INTO v_command FROM event_store.commands c WHERE c.command_id = p_command_id;
    IF FOUND THEN
        RETURN QUERY
        SELECT 'deduplicated'::text, v_command.stream_id, min(e.stream_type), v_command.first_version,
               v_command.last_version, v_command.transaction_id::text::bigint,
               array_agg(e.global_position ORDER BY e.version), array_agg(e.event_id ORDER BY e.version)
          FROM event_store.events e
         WHERE e.stream_id = v_command.stream_id
           AND e.version BETWEEN v_command.first_version AND v_command.last_version;
        RETURN;
    END IF;

    SELECT e.version, e.hash, e.stream_type INTO v_head_version, v_head_hash, v_head_type
      FROM event_store.events e
     WHERE e.stream_id = p_stream_id
     ORDER BY e.version DESC
     LIMIT 1;
    IF NOT FOUND THEN
        v_head_version := 0;
        v_head_hash := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
    ELSIF v_head_type <> p_stream_type THEN
        RETURN QUERY SELECT 'stream_type_mismatch'::text, p_stream_id, v_head_type, NULL::bigint,
                            v_head_version, NULL::bigint, NULL::bigint[], NULL::uuid[];
        RETURN;
    END IF;

    IF v_head_version <> p_expected_version THEN
        RETURN QUERY SELECT 'conflict'::text, p_stream_id, v_head_type, NULL::bigint,
                            v_head_version, NULL::bigint, NULL::bigint[], NULL::uuid[];
        RETURN;
    END IF;

    v_hash := v_head_hash;
    FOR i IN 1 .. cardinality(p_envelopes) LOOP
        v_hash := sha256(v_hash || p_envelopes[i]);
        v_hashes := v_hashes || v_hash;
    END LOOP;

    RETURN QUERY
    WITH inserted AS (
        INSERT INTO event_store.events AS e
               (stream_id, stream_type, version, event_id, event_type, schema_version,
                payload, metadata, recorded_at, command_id, envelope, hash)
        SELECT p_stream_id, p_stream_type, v_head_version + u.ord, u.event_id, u.event_type, u.schema_version,
               u.payload, p_metadata, p_recorded_at, p_command_id, u.envelope, u.hash
          FROM unnest(p_event_ids, p_event_types, p_schema_versions, p_payloads, p_envelopes, v_hashes)
               WITH ORDINALITY AS u(event_id, event_type, schema_version, payload, envelope, hash, ord)
         ORDER BY u.ord
        RETURNING e.global_position, e.version, e.event_id, e.transaction_id
    ), summary AS (
        SELECT min(i.version) AS first_version, max(i.version) AS last_version,
               max(i.global_position) AS last_position, min(i.transaction_id::text)::bigint AS transaction_id,
               array_agg(i.global_position ORDER BY i.version) AS positions,
               array_agg(i.event_id ORDER BY i.version) AS event_ids
          FROM inserted i
    ), recorded AS (
        INSERT INTO event_store.commands (command_id, stream_id, first_version, last_version, last_position, recorded_at)
        SELECT p_command_id, p_stream_id, s.first_version, s.last_version, s.last_position, p_recorded_at
          FROM summary s
    )
    SELECT 'appended'::text, p_stream_id, p_stream_type, s.first_version, s.last_version, s.transaction_id,
           s.positions, s.event_ids
      FROM summary s;
END;
$$;

-- Grants for the roles of the local stack, when they exist (they are cluster-wide, so test
-- databases of a bare cluster simply skip this).
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'orders_events') THEN
        GRANT USAGE ON SCHEMA event_store TO orders_events;
        GRANT SELECT, INSERT ON event_store.events, event_store.commands TO orders_events;
        GRANT SELECT, INSERT, UPDATE, DELETE ON event_store.snapshots, event_store.idempotency_keys TO orders_events;
        GRANT EXECUTE ON FUNCTION event_store.append_events(uuid, text, bigint, uuid, jsonb, timestamptz, uuid[], text[], integer[], jsonb[], bytea[]) TO orders_events;
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
