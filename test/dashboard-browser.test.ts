import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { providers } from '@inlet/signatures';
import { freePort, waitFor } from '@inlet/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningProcess, repoRoot, runNode, type Stack, startStack, waitHealthy } from './support.js';

const GITHUB_SECRET = 'browser-e2e-secret';
const PASSWORD = 'browser-e2e-dashboard-password';
// The README shows these; set INLET_UPDATE_SCREENSHOTS=1 to write them there instead of a temp dir.
const updateScreenshots = process.env.INLET_UPDATE_SCREENSHOTS === '1';

/** Debian's chromium, installed with apt-get when it is not on PATH (the tests run as root). */
function chromiumExecutable(): string {
  const which = () => spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
  const found = which();
  if (found !== '') return found;
  const apt = (args: string[]) =>
    spawnSync('apt-get', args, {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 540_000,
    });
  apt(['update', '-q']);
  const install = apt(['install', '-y', '-q', 'chromium']);
  const installed = which();
  if (install.status !== 0 || installed === '') {
    const output = `${install.stdout ?? ''}${install.stderr ?? ''}`.trim().split('\n').slice(-8).join('\n');
    throw new Error(
      `this test drives Debian's chromium, which is not on PATH, and "apt-get install -y chromium" failed ` +
        `(exit ${install.status ?? install.error?.message}); install it by hand (as root: apt-get install -y chromium).\n${output}`,
    );
  }
  return installed;
}

function githubHeaders(body: string, id: string): Record<string, string> {
  return providers.github.sign(
    { body, secret: GITHUB_SECRET, timestamp: 0, id },
    { secrets: [GITHUB_SECRET], toleranceSeconds: 300 },
  );
}

describe('the dashboard in a real browser', () => {
  let stack: Stack;
  let dashboard: RunningProcess;
  let dashboardUrl = '';
  let browser: Browser | undefined;
  let profileDir = '';
  let screenshotDir = '';
  let executablePath = '';

  beforeAll(async () => {
    // First, since installing chromium (once per machine) is the slow part.
    executablePath = chromiumExecutable();
    stack = await startStack({
      sources: { gh: { provider: 'github', secrets: ['env:E2E_GITHUB_SECRET'] } },
      extraEnv: { E2E_GITHUB_SECRET: GITHUB_SECRET },
    });
    const port = await freePort();
    dashboardUrl = `http://127.0.0.1:${port}`;
    dashboard = runNode('apps/dashboard/dist/main.js', {
      ...stack.env,
      DASHBOARD_PORT: String(port),
      DASHBOARD_PASSWORD: PASSWORD,
      INLET_INGEST_METRICS_URL: `${stack.ingestUrl}/metrics`,
      LOG_LEVEL: 'info',
    });
    const authorization = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`;
    await waitHealthy(`${dashboardUrl}/readyz`, dashboard, 20_000, { authorization });
    profileDir = await mkdtemp(path.join(tmpdir(), 'inlet-chromium-'));
    screenshotDir = updateScreenshots
      ? path.join(repoRoot, 'docs', 'screenshots')
      : await mkdtemp(path.join(tmpdir(), 'inlet-screenshots-'));
    await mkdir(screenshotDir, { recursive: true });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    await stack?.stop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
    if (screenshotDir && !updateScreenshots) await rm(screenshotDir, { recursive: true, force: true });
  });

  it('finds a delivered event, replays it, and shows the queues', async () => {
    const body = '{"zen":"Mind your words, they are important.","hook_id":4242}';
    const delivered = await fetch(`${stack.ingestUrl}/webhooks/gh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...githubHeaders(body, 'browser-1') },
      body,
    });
    expect(delivered.status).toBe(202);
    // A forged delivery, so the signature failure panel has something to show.
    const forged = await fetch(`${stack.ingestUrl}/webhooks/gh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` },
      body: '{}',
    });
    expect(forged.status).toBe(401);
    const row = await waitFor(
      async () =>
        (await stack.db.sql<{ id: string }[]>`select id from webhook_events where event_id = 'browser-1'`)[0],
      15_000,
      'the stored row',
    );

    // A fresh profile, and (launchPersistentContext) credentials the browser answers the 401 with.
    const context = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      httpCredentials: { username: 'admin', password: PASSWORD },
      viewport: { width: 1280, height: 860 },
    });
    browser = context.browser() ?? undefined;
    // Nothing leaves this machine: Bull Board's page asks for a web font that the test need not wait for.
    await context.route(
      (url) => url.hostname !== '127.0.0.1',
      (route) => route.abort(),
    );
    const page: Page = context.pages()[0] ?? (await context.newPage());
    try {
      await page.goto(`${dashboardUrl}/`);
      await expect
        .poll(() => page.locator('#signature-failures').textContent())
        .toContain('invalid_signature');

      await page.fill('input[name="source"]', 'gh');
      await page.fill('input[name="eventId"]', 'browser-1');
      await page.click('button[type="submit"]');
      await page.waitForURL(/eventId=browser-1/);
      const rows = page.locator('#events tbody tr');
      expect(await rows.count()).toBe(1);
      expect(await rows.first().textContent()).toContain('browser-1');
      await page.screenshot({ path: path.join(screenshotDir, 'events.png') });

      await rows.first().locator('a', { hasText: 'browser-1' }).click();
      await page.waitForURL(`${dashboardUrl}/events/${row.id}`);
      expect(await page.locator('#body').textContent()).toBe(body);
      expect(await page.locator('#headers').textContent()).toContain('x-github-event');
      const processedBefore = await page.locator('#processed-at').textContent();
      await page.screenshot({ path: path.join(screenshotDir, 'event.png'), fullPage: true });

      await page.click('#replay');
      await page.waitForURL(/replayed=/);
      await expect.poll(() => page.locator('#replayed').textContent()).toContain('Replayed as job');
      await waitFor(
        async () => {
          await page.reload();
          return (await page.locator('#processed-at').textContent()) !== processedBefore;
        },
        20_000,
        'processed_at to move after the replay',
      );

      await page.goto(`${dashboardUrl}/queues`);
      const queueName = stack.env.INLET_QUEUE ?? '';
      await page.getByText(queueName).first().waitFor({ timeout: 20_000 });
      expect(await page.title()).toBe('Inlet queues');
      await page.screenshot({ path: path.join(screenshotDir, 'queues.png') });
    } finally {
      await context.close();
    }
    // SIGTERM: a clean stop. Its log lines (one per request) never hold the password.
    expect(await dashboard.stop()).toBe(0);
    expect(dashboard.output()).toContain('"route":"/events/:id/replay","status":303');
    expect(dashboard.output()).not.toContain(PASSWORD);
  });
});
