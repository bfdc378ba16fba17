// pages.js — what the browser tests share: one headless Chromium per test
// file (Debian's, driven by playwright-core), and the demo opened on a
// document, ready to edit. Importing it registers the browser's start and
// stop with node:test.
import test from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const BASE = process.env.COLLAB_URL;
// this run's document names do not meet an earlier run's
export const RUN = Date.now().toString(36);

let browser = null;
test.before(async () => {
  assert.ok(BASE, 'COLLAB_URL is the notifier serving the demo');
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ['--no-sandbox'] });
});
test.after(async () => {
  await browser?.close();
});

export const theBrowser = () => browser;

// The demo's editor has its document: the snapshot came and Quill took it.
export const ready = (page) =>
  page.waitForFunction(() => window.collab && window.collab.client.rev >= 0 && window.collab.quill.isEnabled(), null, { timeout: 15000 });

// The demo on doc in a context of its own (its own connection, storage and
// network switch): {context, page}.
export async function openPage(doc) {
  const context = await browser.newContext({ viewport: { width: 900, height: 600 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`));
  await page.goto(`${BASE}/?doc=${encodeURIComponent(doc)}`);
  await ready(page);
  return { context, page };
}
