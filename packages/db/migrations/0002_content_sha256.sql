-- The SHA-256 of what a delivery's signature covers, kept for events whose event id is not signed
-- (GitHub, Shopify, Twilio, Linear, an idempotency header): a captured delivery resent under a fresh
-- id carries the same content and is refused by the unique index of the next migration. NULL for
-- every other event. Its own migration: CockroachDB refuses a partial index on a column added in
-- the same transaction.

ALTER TABLE webhook_events ADD COLUMN IF NOT EXISTS content_sha256 TEXT NULL;
