/**
 * The job summaries as a user sees them: the demo's page (`npm run demo -- --html`) opened in a real
 * browser (Debian's chromium through playwright-core), markdown rendered as GitHub does, mermaid
 * charts drawn by the mermaid package. Fails on any diagram that does not render and any table that
 * breaks; saves a screenshot under .tmp/ for a person to look at.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokenTableRows, summaryPage } from '../scripts/summary-page';
import { root } from './support/repo';

const CHROMIUM = process.env['CHROMIUM'] ?? '/usr/bin/chromium';
// Headless on a closed network: no background connections, no sandbox as root (as the machine notes say).
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface Check {
  diagrams: number;
  tables: number;
  errors: { section: number; kind: string; message: string; source: string }[];
}

let browser: Browser;
const work = mkdtempSync(join(tmpdir(), 'summaries-'));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium (or set CHROMIUM)`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});
afterAll(async () => {
  await browser?.close();
});

async function open(file: string, screenshot?: string): Promise<Check> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  try {
    await page.goto(pathToFileURL(file).href);
    const check = (await page.evaluate('window.summaryCheck')) as Check;
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return check;
  } finally {
    await page.close();
  }
}

describe('job summaries in a browser', () => {
  it('a broken diagram and a table row with an unescaped | are reported (the check can fail)', async () => {
    const file = join(work, 'broken.html');
    writeFileSync(
      file,
      summaryPage('broken', [
        {
          title: 'fine',
          markdown: '| a | b |\n| --- | --- |\n| 1 | 2 |\n\n```mermaid\nflowchart LR\n  a --> b\n```\n',
        },
        { title: 'bad diagram', markdown: '```mermaid\nxychart-beta\n  line [1, 2, oops\n```\n' },
        { title: 'bad table', markdown: '| step | image |\n| --- | --- |\n| 1 | web=a|b |\n' },
      ]),
    );
    const check = await open(file);
    expect(check.diagrams).toBe(2);
    expect(check.errors.map((e) => [e.section, e.kind])).toEqual([
      [2, 'table'],
      [1, 'mermaid'],
    ]);
    expect(brokenTableRows('| a |\n| --- |\n| x \\| y |\n')).toEqual([]);
  });

  it("the demo's page: every diagram renders, no table breaks; screenshot in .tmp/", { timeout: 300_000 }, async () => {
    const html = join(work, 'demo.html');
    await promisify(execFile)(join(root, 'node_modules', '.bin', 'tsx'), ['scripts/demo.ts', '--html', html], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 280_000,
    });
    mkdirSync(join(root, '.tmp'), { recursive: true });
    const check = await open(html, join(root, '.tmp', 'demo-summaries.png'));
    expect(check.errors).toEqual([]);
    expect(check.diagrams).toBeGreaterThan(0);
    expect(check.tables).toBeGreaterThan(3);
  });
});
