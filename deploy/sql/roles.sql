-- Inlet's database roles, one per kind of process, each with only what it uses.
--
-- Run once per database, as an admin (a PostgreSQL superuser, CockroachDB's root), connected to
-- Inlet's database, before the first migration:
--   psql "postgres://postgres@db.example:5432/inlet" -v ON_ERROR_STOP=1 -f deploy/sql/roles.sql
--   cockroach sql --url "postgresql://root@db.example:26257/inlet" -f deploy/sql/roles.sql
-- Then migrate as inlet_migrate, and run deploy/sql/grants.sql after every migration.
--
-- Both PostgreSQL and CockroachDB accept every statement. The database is named inlet here (the
-- default DATABASE_URL's): if yours is not, change it in the ON DATABASE lines. No password is
-- written here; set them with ALTER ROLE ... WITH PASSWORD, or use client certificates.

-- Runs `npm run migrate`, and so owns webhook_events and inlet_schema_migrations.
CREATE ROLE inlet_migrate WITH LOGIN;
-- Runs the worker: stores events and moves processed_at on a replay.
CREATE ROLE inlet_worker WITH LOGIN;
-- Runs the dashboard and `npx inlet replay`: reads events; replays go through Redis.
CREATE ROLE inlet_dashboard WITH LOGIN;
-- Runs `npx inlet prune` on a schedule: deletes events past their retention period.
CREATE ROLE inlet_retention WITH LOGIN;

GRANT CONNECT ON DATABASE inlet TO inlet_migrate, inlet_worker, inlet_dashboard, inlet_retention;

-- Creating tables in the public schema takes CREATE on the database in CockroachDB, and CREATE
-- on the schema in PostgreSQL (since version 15 nobody else has it there).
GRANT CREATE ON DATABASE inlet TO inlet_migrate;
GRANT USAGE, CREATE ON SCHEMA public TO inlet_migrate;
GRANT USAGE ON SCHEMA public TO inlet_worker, inlet_dashboard, inlet_retention;

-- PostgreSQL before 15 lets every role create tables in public; nobody but inlet_migrate should.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
