-- One event per signed content and source: the last word on replayed deliveries, whatever their
-- event id. Partial, so events without a content key (NULL) cost the index nothing.

CREATE UNIQUE INDEX IF NOT EXISTS webhook_events_source_content_sha256_key
  ON webhook_events (source, content_sha256)
  WHERE content_sha256 IS NOT NULL;
