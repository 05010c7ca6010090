import type { BoundedText, EventView } from '@inlet/db';
import type { AuthenticatedUser } from '../auth.js';
import { formatAge, formatTime, Layout } from './layout.js';

export interface EventPageProps {
  readonly user: AuthenticatedUser;
  readonly now: Date;
  /** The event, its body and its indented payload cut to the dashboard's bound. */
  readonly event: EventView;
  /** The stored headers with credential-looking values redacted. */
  readonly headers: Readonly<Record<string, string>>;
  /** Set right after a replay: the job that carries it. */
  readonly replayedJobId: string | null;
}

function Cut(props: { id: string; field: BoundedText }) {
  if (!props.field.truncated) return null;
  return (
    <p class="notice" id={props.id}>
      Cut: the first {props.field.text.length.toLocaleString('en-US')} of{' '}
      {props.field.chars.toLocaleString('en-US')} characters are shown. The rest is stored in full.
    </p>
  );
}

export function EventPage(props: EventPageProps) {
  const { event } = props;
  const lagMs = event.processed_at.getTime() - event.received_at.getTime();
  const headerNames = Object.keys(props.headers);
  return (
    <Layout title={`${event.source} ${event.event_id}`} user={props.user}>
      <p>
        <a href={`/?source=${encodeURIComponent(event.source)}`}>← {event.source} events</a>
      </p>
      <div class="row">
        <h1>
          {event.source} / <span class="mono">{event.event_id}</span>
        </h1>
        {props.user.role === 'admin' ? (
          <form method="post" action={`/events/${event.id}/replay`}>
            <button type="submit" id="replay">
              Replay
            </button>
          </form>
        ) : null}
      </div>
      {props.replayedJobId === null ? null : (
        <div class="notice" id="replayed">
          Replayed as job <span class="mono">{props.replayedJobId}</span>. The worker runs its handler again
          and moves the processed time; reload to see it.
        </div>
      )}
      <div class="card">
        <dl>
          <dt>Row id</dt>
          <dd class="mono">{event.id}</dd>
          <dt>Source</dt>
          <dd>{event.source}</dd>
          <dt>Event id</dt>
          <dd class="mono">{event.event_id}</dd>
          <dt>Event type</dt>
          <dd class="mono">{event.event_type ?? <span class="muted">none</span>}</dd>
          <dt>Received</dt>
          <dd class="mono" id="received-at">
            {formatTime(event.received_at)}{' '}
            <span class="muted">({formatAge(event.received_at, props.now)})</span>
          </dd>
          <dt>Processed</dt>
          <dd class="mono" id="processed-at">
            {formatTime(event.processed_at)}{' '}
            <span class="muted">({(lagMs / 1000).toFixed(3)} s after it was received)</span>
          </dd>
        </dl>
      </div>
      <div class="card">
        <h2>Headers</h2>
        {headerNames.length === 0 ? (
          <p class="muted">None stored.</p>
        ) : (
          <table id="headers">
            <tbody>
              {headerNames.map((name) => (
                <tr>
                  <td class="mono">{name}</td>
                  <td class="mono">{props.headers[name]}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <div class="card">
        <h2>Payload</h2>
        {event.payload === null ? (
          <p class="muted">The body is neither JSON nor form fields.</p>
        ) : (
          <>
            <Cut id="payload-cut" field={event.payload} />
            <pre id="payload">{event.payload.text}</pre>
          </>
        )}
      </div>
      <div class="card">
        <h2>Raw body</h2>
        <Cut id="body-cut" field={event.body} />
        <pre id="body">{event.body.text}</pre>
      </div>
    </Layout>
  );
}
