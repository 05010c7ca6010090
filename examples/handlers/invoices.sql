-- The example handler's table: run once against Inlet's database.
CREATE TABLE IF NOT EXISTS invoices (
  id TEXT PRIMARY KEY,
  customer TEXT,
  amount_paid BIGINT NOT NULL,
  currency TEXT NOT NULL,
  paid_at TIMESTAMPTZ NOT NULL,
  stripe_event_id TEXT NOT NULL
);
