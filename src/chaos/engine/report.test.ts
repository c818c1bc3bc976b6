/**
 * report.html in a real headless browser (Debian's chromium through
 * playwright-core; `scripts/install-chromium.sh` installs it). The test
 * renders a run's report offline, checks the verdict, the replay command and
 * the four plots are there and that the page asked the network for nothing,
 * and leaves a screenshot to look at.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, test, type TestContext } from 'node:test';
import type { Page } from 'playwright-core';
import { writeRunFiles } from './output.js';
import { renderReport } from './report-html.js';
import { runScenario } from './run.js';
import { CHROMIUM, requireChromium } from '../../testing/tools.js';
import { loadScenario, scenarioFiles } from './testing.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
/** Where the screenshots land, to look at after `npm test -- src/chaos/engine/report`. */
export const SCREENSHOT_PATH = join(tmpdir(), 'kubethreads-chaos-report.png');
export const KUBERNETES_SCREENSHOT_PATH = join(tmpdir(), 'kubethreads-chaos-report-kubernetes.png');

/** Without Debian's chromium the browser tests skip, saying how to get it (or fail under REQUIRE_TOOLS=1). */
function chromiumMissing(t: TestContext): boolean {
  const reason = requireChromium();
  if (reason === false) return false;
  t.skip(reason);
  return true;
}

/**
 * Opens a report offline in headless chromium and runs `check` on it; then
 * asserts the page fetched nothing from the network and threw nothing, and
 * saves a full-page screenshot to look at.
 */
async function inChromium(t: TestContext, report: string, screenshot: string, check: (page: Page) => Promise<void>): Promise<void> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(pathToFileURL(report).href);
    await check(page);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:')), [], 'the page fetched nothing from the network');
    assert.deepEqual(errors, []);
    writeFileSync(screenshot, await page.screenshot({ fullPage: true }));
    t.diagnostic(`screenshot: ${screenshot}`);
  } finally {
    await browser.close();
  }
}

let cached: ReturnType<typeof runScenario> | undefined;

/** One short run shared by both tests (a run is the expensive part). */
function shortRun(): ReturnType<typeof runScenario> {
  cached ??= freshRun();
  return cached;
}

async function freshRun() {
  const scenario = loadScenario(scenarioFiles().find((f) => f.endsWith('etcd-leader-crash.yaml'))!);
  return runScenario({ ...scenario, workload: { register: { clients: 2, thinkMs: 40 }, watch: { watchers: 1 } } }, { seed: 2, runtime: 'simulated' });
}

describe('report.html', () => {
  test('is one self-contained page: no script, stylesheet or image from anywhere else', async () => {
    const run = await shortRun();
    const html = renderReport({ outcome: run.outcome, history: run.history, replay: 'npx kubethreads chaos run x.yaml --seed 2 --sim', versions: { kubethreads: 'test' }, timing: run.timing });
    assert.doesNotMatch(html, /<script|<link|<img|src=|url\(/i);
    assert.match(html, /npx kubethreads chaos run x\.yaml --seed 2 --sim/);
    assert.equal((html.match(/<svg /g) ?? []).length, 4, 'latency, throughput, roles, terms');
  });

  test('renders in headless chromium with the verdict, the replay command and four plots, offline', { timeout: 120_000 }, async (t) => {
    if (chromiumMissing(t)) return;
    const run = await shortRun();
    const files = writeRunFiles(mkdtempSync(join(tmpdir(), 'chaos-report-')), run, 'npx kubethreads chaos run scenarios/etcd-leader-crash.yaml --seed 2 --sim');
    await inChromium(t, files.report, SCREENSHOT_PATH, async (page) => {
      assert.equal((await page.locator('h1 .verdict').textContent())?.trim(), run.outcome.verdict.toUpperCase());
      assert.match((await page.locator('code.replay').textContent()) ?? '', /--seed 2 --sim/);
      const boxes = await page.locator('svg').evaluateAll((svgs) => svgs.map((s) => s.getBoundingClientRect()).map((r) => [r.width, r.height]));
      assert.equal(boxes.length, 4);
      for (const [w, h] of boxes) assert.ok(w! > 500 && h! > 100, `each plot is drawn at a readable size (${w}×${h})`);
      assert.ok((await page.locator('svg circle').count()) > 100, 'the latency plot has its points');
    });
  });

  test('a Kubernetes run adds pods Running against desired, the control plane\'s leaders and its sampled metrics, drawn in headless chromium', { timeout: 180_000 }, async (t) => {
    if (chromiumMissing(t)) return;
    const run = await runScenario(loadScenario(scenarioFiles().find((f) => f.endsWith('node-crash-rescheduling.yaml'))!), { seed: 1, runtime: 'simulated' });
    const files = writeRunFiles(mkdtempSync(join(tmpdir(), 'chaos-report-k8s-')), run, 'npx kubethreads chaos run scenarios/node-crash-rescheduling.yaml --seed 1 --sim');
    await inChromium(t, files.report, KUBERNETES_SCREENSHOT_PATH, async (page) => {
      const labels = await page.locator('svg').evaluateAll((svgs) => svgs.map((s) => s.getAttribute('aria-label')));
      assert.deepEqual(labels, [
        'operation latency over time', 'throughput over time', 'pods Running against desired over time', 'scheduler and controller-manager leaders over time',
        // The scenario's sampled metrics, one plot each.
        'etcd_server_leader_changes_seen_total over time', 'apiserver request p99 (s) over time', 'kubelet_running_pods over time', 'scheduler_pending_pods{queue="unschedulable"} over time',
        'role of each replica over time', 'term of each replica over time',
      ]);
      const runningPods = await page.locator('svg[aria-label="kubelet_running_pods over time"] circle').count();
      assert.ok(runningPods > 10, `the sampled running pods are drawn (${runningPods} points)`);
      // The pods plot draws its three lines over the run, and the crashed node's pods show as a dip below desired.
      const pods = page.locator('svg[aria-label="pods Running against desired over time"]');
      const lines = await pods.locator('polyline').evaluateAll((ls) => ls.map((l) => (l.getAttribute('points') ?? '').trim().split(/\s+/).length));
      assert.equal(lines.length, 3, 'desired, Running, Running the current image');
      for (const points of lines) assert.ok(points > 10, `each line has its samples (${points} points)`);
      const afterCrash = run.outcome.cluster.filter((c) => c.tMs > 3_000 && c.desired !== undefined);
      assert.ok(afterCrash.some((c) => (c.running ?? 0) < c.desired!), 'the run saw fewer pods Running than desired after the crash (what the plot is for)');
    });
  });
});
