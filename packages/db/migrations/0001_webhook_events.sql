-- Received webhook events. Portable SQL: PostgreSQL and CockroachDB both accept every statement,
-- and IF NOT EXISTS makes a re-run harmless.

CREATE TABLE IF NOT EXISTS webhook_events (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  source TEXT NOT NULL,
  event_id TEXT NOT NULL,
  event_type TEXT NULL,
  headers JSONB NOT NULL DEFAULT '{}'::JSONB,
  body TEXT NOT NULL,
  payload JSONB NULL,
  received_at TIMESTAMPTZ NOT NULL,
  processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CONSTRAINT webhook_events_source_event_id_key UNIQUE (source, event_id)
);

-- Filtering by source and event type, newest first.
CREATE INDEX IF NOT EXISTS webhook_events_source_type_received_idx
  ON webhook_events (source, event_type, received_at DESC);

-- Browsing every event newest first, with id as the tie-breaker for keyset pagination.
CREATE INDEX IF NOT EXISTS webhook_events_received_id_idx
  ON webhook_events (received_at DESC, id);
