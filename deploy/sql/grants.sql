-- What Inlet's worker, dashboard and retention roles (deploy/sql/roles.sql) may do with the tables that
-- the migrations create.
--
-- Run after every `npm run migrate`, as inlet_migrate (which owns the tables) or as an admin;
-- running it again changes nothing. Both PostgreSQL and CockroachDB accept every statement.
--
-- Table by table on purpose, rather than ALTER DEFAULT PRIVILEGES: default privileges would give
-- the worker write access to every table inlet_migrate ever creates, inlet_schema_migrations
-- included. None of them gets anything on inlet_schema_migrations.

-- INSERT ... ON CONFLICT DO NOTHING RETURNING stores events; a replay runs UPDATE ... RETURNING
-- to move processed_at. Never DELETE, TRUNCATE or DDL.
GRANT SELECT, INSERT, UPDATE ON TABLE webhook_events TO inlet_worker;

-- The event browser, its counts, its API and replay (which reads the row and enqueues it).
GRANT SELECT ON TABLE webhook_events TO inlet_dashboard;

-- `inlet prune`: finds the events past their retention period and deletes them. Nothing else.
GRANT SELECT, DELETE ON TABLE webhook_events TO inlet_retention;

-- A source's handler runs as inlet_worker: grant it what the handler's statements need on your
-- own tables, and nothing more, for example:
--   GRANT SELECT, UPDATE ON TABLE invoices TO inlet_worker;
