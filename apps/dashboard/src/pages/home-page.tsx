import type { EventSummary, SourceCount } from '@inlet/db';
import type { AuthenticatedUser } from '../auth.js';
import type { SignatureFailures } from '../ingest-metrics.js';
import type { RetryAction } from '../retry-actions.js';
import { formatAge, formatCount, formatTime, Layout } from './layout.js';

export interface QueueCounts {
  readonly waiting: number;
  readonly active: number;
  readonly delayed: number;
  readonly failed: number;
}

export interface HomePageProps {
  readonly user: AuthenticatedUser;
  readonly now: Date;
  readonly form: Readonly<Record<'source' | 'eventId' | 'eventType' | 'since' | 'until', string>>;
  /** Null when the search itself was refused (`error` says why). */
  readonly events: EventSummary[] | null;
  readonly error: string | null;
  readonly nextHref: string | null;
  readonly firstPageHref: string | null;
  readonly counts: SourceCount[];
  readonly signatureFailures: SignatureFailures;
  readonly queue: QueueCounts | null;
  readonly retry: RetryAction | null;
}

function SourceCounts(props: { counts: SourceCount[] }) {
  return (
    <div class="card">
      <h2>Events by source</h2>
      {props.counts.length === 0 ? (
        <p class="muted">No events in the last day.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Source</th>
              <th class="num">Last hour</th>
              <th class="num">Last day</th>
            </tr>
          </thead>
          <tbody>
            {props.counts.map((count) => (
              <tr>
                <td>
                  <a href={`/?source=${encodeURIComponent(count.source)}`}>{count.source}</a>
                </td>
                <td class="num">{formatCount(count.lastHour)}</td>
                <td class="num">{formatCount(count.lastDay)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function SignatureFailurePanel(props: { failures: SignatureFailures }) {
  const { failures } = props;
  return (
    <div class="card" id="signature-failures">
      <h2>Signature failures</h2>
      {!failures.available ? (
        <p class="muted">Ingest metrics unavailable: {failures.reason}.</p>
      ) : failures.failures.length === 0 ? (
        <p class="muted">None since ingest started.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Source</th>
              <th>Reason</th>
              <th class="num">Count</th>
            </tr>
          </thead>
          <tbody>
            {failures.failures.map((failure) => (
              <tr>
                <td>{failure.source}</td>
                <td class="mono">{failure.reason}</td>
                <td class="num bad">{formatCount(failure.count)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {failures.available ? <p class="muted">Counted by the ingest process since it started.</p> : null}
    </div>
  );
}

function RetryProgress(props: { retry: RetryAction }) {
  const { retry } = props;
  const total = retry.total === null ? '' : ` of ${formatCount(retry.total)}`;
  return (
    <p id="retry-progress" class={retry.state === 'failed' ? 'bad' : 'muted'}>
      {retry.state === 'running'
        ? `Retrying failed jobs: ${formatCount(retry.seen)}${total} looked at, ${formatCount(retry.retried)} moved back. Reload for progress.`
        : retry.state === 'done'
          ? `Retried ${formatCount(retry.retried)} failed jobs.`
          : `Retrying stopped: ${retry.error ?? 'unknown error'}.`}
    </p>
  );
}

function QueuePanel(props: { queue: QueueCounts | null; retry: RetryAction | null; canChange: boolean }) {
  const { queue } = props;
  return (
    <div class="card">
      <div class="row">
        <h2>Queue</h2>
        <a href="/queues">Open Bull Board →</a>
      </div>
      {queue === null ? (
        <p class="muted">The queue cannot be read now.</p>
      ) : (
        <table>
          <tbody>
            <tr>
              <td>Waiting</td>
              <td class="num">{formatCount(queue.waiting)}</td>
            </tr>
            <tr>
              <td>Active</td>
              <td class="num">{formatCount(queue.active)}</td>
            </tr>
            <tr>
              <td>Delayed</td>
              <td class="num">{formatCount(queue.delayed)}</td>
            </tr>
            <tr>
              <td>Failed</td>
              <td class={queue.failed > 0 ? 'num bad' : 'num'}>{formatCount(queue.failed)}</td>
            </tr>
          </tbody>
        </table>
      )}
      {props.retry === null ? null : <RetryProgress retry={props.retry} />}
      {props.canChange && queue !== null && queue.failed > 0 && props.retry?.state !== 'running' ? (
        <form method="post" action="/failed/retry" style="margin-top: 10px">
          <button type="submit">Retry all failed</button>
        </form>
      ) : null}
    </div>
  );
}

function SearchForm(props: { form: HomePageProps['form'] }) {
  const { form } = props;
  return (
    <form class="search card" method="get" action="/">
      <label>
        Source
        <input name="source" value={form.source} placeholder="stripe" />
      </label>
      <label>
        Event id
        <input name="eventId" value={form.eventId} placeholder="evt_..." />
      </label>
      <label>
        Event type
        <input name="eventType" value={form.eventType} placeholder="invoice.paid" />
      </label>
      <label>
        Since
        <input name="since" value={form.since} placeholder="2h or 2026-11-22T10:00Z" />
      </label>
      <label>
        Until
        <input name="until" value={form.until} placeholder="30m or ISO-8601" />
      </label>
      <div class="actions">
        <button type="submit">Search</button>
        <a class="button secondary" href="/">
          Clear
        </a>
      </div>
    </form>
  );
}

function EventTable(props: { events: EventSummary[]; now: Date }) {
  if (props.events.length === 0) return <p class="muted">No stored event matches.</p>;
  return (
    <table id="events">
      <thead>
        <tr>
          <th>Received</th>
          <th>Source</th>
          <th>Event type</th>
          <th>Event id</th>
          <th>Processed</th>
        </tr>
      </thead>
      <tbody>
        {props.events.map((event) => (
          <tr>
            <td>
              <a href={`/events/${event.id}`} class="mono">
                {formatTime(event.received_at)}
              </a>
              <div class="muted">{formatAge(event.received_at, props.now)}</div>
            </td>
            <td>{event.source}</td>
            <td class="mono">{event.event_type ?? <span class="muted">–</span>}</td>
            <td class="mono">
              <a href={`/events/${event.id}`}>{event.event_id}</a>
            </td>
            <td class="mono muted">{formatTime(event.processed_at)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function HomePage(props: HomePageProps) {
  return (
    <Layout title="Events" user={props.user}>
      <div class="grid">
        <SourceCounts counts={props.counts} />
        <SignatureFailurePanel failures={props.signatureFailures} />
        <QueuePanel queue={props.queue} retry={props.retry} canChange={props.user.role === 'admin'} />
      </div>
      <SearchForm form={props.form} />
      {props.error === null ? null : <div class="notice error">{props.error}</div>}
      {props.events === null ? null : (
        <div class="card">
          <EventTable events={props.events} now={props.now} />
          <div class="pager">
            {props.firstPageHref === null ? <span /> : <a href={props.firstPageHref}>← Newest</a>}
            {props.nextHref === null ? <span /> : <a href={props.nextHref}>Older →</a>}
          </div>
        </div>
      )}
    </Layout>
  );
}
