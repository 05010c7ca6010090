import { raw } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { AuthenticatedUser } from '../auth.js';

// Small and inline: the dashboard loads nothing from anywhere else, so it works offline and its
// Content-Security-Policy can forbid every other source.
const STYLE = `
:root { color-scheme: light dark; --bg: #f7f7f8; --fg: #1d1f23; --muted: #6b7079; --card: #fff;
  --line: #e3e4e8; --accent: #3457d5; --accent-fg: #fff; --bad: #c0392b; --ok: #1e8449; --code: #f1f2f5; }
@media (prefers-color-scheme: dark) { :root { --bg: #15171b; --fg: #e6e7ea; --muted: #9aa0aa; --card: #1d2026;
  --line: #2d3139; --accent: #6d8cff; --accent-fg: #0d0f12; --bad: #ff7b6b; --ok: #5fd38d; --code: #24272e; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans", sans-serif; background: var(--bg); color: var(--fg); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
header { display: flex; align-items: center; gap: 20px; padding: 10px 24px; background: var(--card); border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; font-size: 16px; color: var(--fg); }
header nav { display: flex; gap: 16px; flex: 1; }
header .who { color: var(--muted); }
main { max-width: 1200px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 20px; margin: 0 0 14px; word-break: break-all; } h2 { font-size: 15px; margin: 0 0 10px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 16px; margin-bottom: 18px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; margin-bottom: 16px; }
.grid .card { margin-bottom: 0; }
table { width: 100%; border-collapse: collapse; }
#headers td:first-child { width: 32%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:hover { background: var(--code); }
.mono, code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--code); padding: 12px; border-radius: 6px; overflow: auto; max-height: 480px; white-space: pre-wrap; word-break: break-all; margin: 0; }
.muted { color: var(--muted); } .bad { color: var(--bad); } .ok { color: var(--ok); }
form.search { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; align-items: end; }
label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; color: var(--muted); }
input { font: inherit; padding: 6px 8px; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--fg); }
button, .button { font: inherit; padding: 7px 14px; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent);
  color: var(--accent-fg); cursor: pointer; display: inline-block; }
.button.secondary, button.secondary { background: transparent; color: var(--accent); }
.actions { display: flex; gap: 8px; }
.notice { padding: 10px 14px; border-radius: 6px; margin-bottom: 16px; border: 1px solid var(--line); background: var(--card); }
.notice.error { border-color: var(--bad); color: var(--bad); }
.pager { display: flex; justify-content: space-between; margin-top: 12px; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; word-break: break-all; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; background: var(--code); color: var(--muted); font-size: 12px; }
.row { display: flex; justify-content: space-between; align-items: center; gap: 12px; }
.card > .row { margin-bottom: 10px; } .card > .row h2 { margin: 0; }
td .muted { font-size: 12px; }
`;

export function Layout(props: { title: string; user: AuthenticatedUser | null; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Inlet`}</title>
        {/* raw: JSX would escape the quotes of font names and break the declaration. */}
        <style>{raw(STYLE)}</style>
      </head>
      <body>
        <header>
          <a class="brand" href="/">
            Inlet
          </a>
          <nav>
            <a href="/">Events</a>
            <a href="/queues">Queues</a>
          </nav>
          {props.user === null ? null : (
            <span class="who">
              {props.user.name}
              {props.user.role === 'readonly' ? <span class="badge"> read-only</span> : null}
            </span>
          )}
        </header>
        <main>{props.children}</main>
      </body>
    </html>
  );
}

/** `2026-11-22 10:00:00.123 UTC`: exact, and the same for every reader whatever their zone. */
export function formatTime(date: Date): string {
  return `${date.toISOString().replace('T', ' ').replace('Z', '')} UTC`;
}

/** `3 min ago`, `in 2 s`: how far `date` is from `now`, roughly. */
export function formatAge(date: Date, now: Date): string {
  const seconds = Math.round((now.getTime() - date.getTime()) / 1000);
  const magnitude = Math.abs(seconds);
  const amount =
    magnitude < 60
      ? `${magnitude} s`
      : magnitude < 3600
        ? `${Math.floor(magnitude / 60)} min`
        : magnitude < 172_800
          ? `${Math.floor(magnitude / 3600)} h`
          : `${Math.floor(magnitude / 86_400)} d`;
  return seconds >= 0 ? `${amount} ago` : `in ${amount}`;
}

export function formatCount(count: number): string {
  return count.toLocaleString('en-US');
}
