// An Inlet handler: marks an invoice paid when Stripe says so.
//
// Inlet calls handle(event, sql) inside the transaction that stores the event, and only when the
// event is new (or replayed on purpose), so this UPDATE happens exactly once per Stripe event,
// however often Stripe delivers it. Configure it on a source:
//
//   "stripe": { "provider": "stripe", "secrets": ["env:STRIPE_WEBHOOK_SECRET"],
//               "handler": "./examples/handlers/stripe-invoice-paid.mjs" }
//
// and create its table once (examples/handlers/invoices.sql).

/**
 * @param {{ id: string, source: string, eventId: string, eventType: string | null,
 *           headers: Record<string, string>, body: string, payload: any, receivedAt: Date,
 *           replay: boolean }} event
 * @param {import('postgres').TransactionSql} sql
 */
export async function handle(event, sql) {
  if (event.eventType !== 'invoice.paid') return;
  const invoice = event.payload?.data?.object;
  if (typeof invoice?.id !== 'string') throw new Error('invoice.paid without data.object.id');
  await sql`
    INSERT INTO invoices (id, customer, amount_paid, currency, paid_at, stripe_event_id)
    VALUES (${invoice.id}, ${invoice.customer ?? null}, ${invoice.amount_paid ?? 0}, ${invoice.currency ?? 'usd'},
            ${new Date((invoice.status_transitions?.paid_at ?? Math.floor(event.receivedAt.getTime() / 1000)) * 1000)},
            ${event.eventId})
    ON CONFLICT (id) DO UPDATE
      SET amount_paid = excluded.amount_paid, paid_at = excluded.paid_at, stripe_event_id = excluded.stripe_event_id`;
}
