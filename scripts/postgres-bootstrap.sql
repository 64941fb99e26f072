-- Roles, schemas and grants of the orders database: one schema and one login role per data owner.
-- Idempotent; run by scripts/stack and by the Postgres container of compose.yaml.
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['orders_events', 'orders_projections', 'orders_query'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN PASSWORD %L', role_name, role_name);
        END IF;
    END LOOP;
END $$;

CREATE SCHEMA IF NOT EXISTS event_store AUTHORIZATION orders_events;
CREATE SCHEMA IF NOT EXISTS projections AUTHORIZATION orders_projections;
ALTER SCHEMA event_store OWNER TO orders_events;
ALTER SCHEMA projections OWNER TO orders_projections;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
-- Each owner's migrator keeps its _sqlx_migrations table in its own schema.
ALTER ROLE orders_events SET search_path = event_store;
ALTER ROLE orders_projections SET search_path = projections;
ALTER ROLE orders_query SET search_path = projections, event_store;
ALTER ROLE orders_query SET default_transaction_read_only = on;
GRANT CONNECT ON DATABASE orders TO orders_events, orders_projections, orders_query;
-- CREATE SCHEMA IF NOT EXISTS in the migrations checks this privilege even when the schema exists.
GRANT CREATE ON DATABASE orders TO orders_events, orders_projections;

GRANT USAGE ON SCHEMA event_store TO orders_projections, orders_query;
GRANT SELECT ON ALL TABLES IN SCHEMA event_store TO orders_projections, orders_query;
ALTER DEFAULT PRIVILEGES FOR ROLE orders_events IN SCHEMA event_store
    GRANT SELECT ON TABLES TO orders_projections, orders_query;

GRANT USAGE ON SCHEMA projections TO orders_query;
GRANT SELECT ON ALL TABLES IN SCHEMA projections TO orders_query;
ALTER DEFAULT PRIVILEGES FOR ROLE orders_projections IN SCHEMA projections
    GRANT SELECT ON TABLES TO orders_query;
