// csp.test.js — the demo as the notifier serves it (tests/e2e/run: --static
// build/demo, made by `make demo`):
//
// - the page comes with the Content-Security-Policy, nosniff and
//   Referrer-Policy of docs/notifier.md, and works under them: it connects
//   (connect-src 'self' takes its WebSocket), edits, shows another page's
//   cursor, a past revision and an export, and Chromium reports no
//   violation of the policy on the way (no inline script or style, no
//   <style> made by a script);
// - the folder holds the page and what it loads, nothing else of client/.
import test from 'node:test';
import assert from 'node:assert/strict';
import { BASE, RUN, openPage, ready, theBrowser } from './pages.js';
import { pause } from './wait.js';

const POLICY = "default-src 'self'; connect-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'";

// The demo on doc, every CSP violation it reports collected in
// window.violations from before its first script runs.
async function openWatched(doc) {
  const context = await theBrowser().newContext({ viewport: { width: 900, height: 600 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.violations.push(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  const response = await page.goto(`${BASE}/?doc=${encodeURIComponent(doc)}`);
  await ready(page);
  return { context, page, response, errors };
}

test('the demo works under its Content-Security-Policy', async () => {
  const doc = `csp-${RUN}`;
  const a = await openWatched(doc);
  const b = await openWatched(doc);
  const headers = a.response.headers();
  assert.equal(headers['content-security-policy'], POLICY);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'no-referrer');

  // edits travel over the WebSocket both ways
  await a.page.click('.ql-editor');
  await a.page.keyboard.insertText('under a strict policy');
  await b.page.waitForFunction(() => window.collab.quill.getText().startsWith('under a strict policy'), null, { timeout: 10000 });
  // B draws A's selection, in A's colour
  await a.page.evaluate(() => window.collab.quill.setSelection(6, 8, 'user'));
  await b.page.waitForSelector('.ql-cursor:not(.hidden) .ql-cursor-selection-block', { state: 'attached', timeout: 5000 });
  const styled = await b.page.evaluate(() => {
    const caret = document.querySelector('.ql-cursor .ql-cursor-caret');
    return getComputedStyle(caret).position === 'absolute' && getComputedStyle(caret).backgroundColor !== 'rgba(0, 0, 0, 0)';
  });
  assert.ok(styled, "the cursors' stylesheet applies: the caret is placed and coloured");
  // a past revision, read-only, and the export
  await b.page.evaluate(() => {
    const s = document.getElementById('slider');
    s.value = 0;
    s.dispatchEvent(new Event('input'));
  });
  await b.page.waitForSelector('#past:not([hidden])', { timeout: 5000 });
  const download = b.page.waitForEvent('download', { timeout: 5000 });
  await b.page.click('#export');
  await download;
  await pause(300);

  for (const [name, p] of [['A', a], ['B', b]]) {
    assert.deepEqual(await p.page.evaluate(() => window.violations), [], `page ${name} reports no CSP violation`);
    assert.deepEqual(p.errors, [], `page ${name} logs no error`);
  }
  await a.context.close();
  await b.context.close();
});

test('only the demo is served: not client/ around it', async () => {
  for (const path of ['/', '/demo.js', '/cursors.css', '/vendor/quill.js', '/vendor/quill.snow.css']) {
    const r = await fetch(`${BASE}${path}`);
    assert.equal(r.status, 200, `${path} is served`);
    assert.equal(r.headers.get('content-security-policy'), POLICY, `${path} carries the policy`);
  }
  for (const path of ['/package.json', '/package-lock.json', '/node_modules/quill/package.json', '/test/client.test.js', '/node_modules/quill/dist/quill.js']) {
    const r = await fetch(`${BASE}${path}`);
    assert.equal(r.status, 404, `${path} is not served`);
  }
});

test("the editor takes the database's formats: no video embed, a formula without KaTeX stays in step", async () => {
  const { context, page } = await openPage(`formats-${RUN}`);
  const got = await page.evaluate(() => {
    const { quill, client } = window.collab;
    const before = JSON.stringify(quill.getContents().ops);
    let refused = false;
    try {
      quill.insertEmbed(0, 'video', 'https://video.example/embed', 'user');
    } catch {
      refused = true; // no video blot in this editor's registry
    }
    quill.clipboard.dangerouslyPasteHTML(0, '<iframe class="ql-video" src="https://video.example/x"></iframe>', 'user');
    const afterVideo = JSON.stringify(quill.getContents().ops);
    quill.insertEmbed(0, 'formula', 'e=mc^2', 'user');
    return {
      refused,
      unchanged: before === afterVideo,
      videoButton: document.querySelector('.ql-toolbar .ql-video') !== null,
      formulaText: document.querySelector('.ql-editor .ql-formula')?.textContent ?? null,
      inStep: JSON.stringify(quill.getContents().ops) === JSON.stringify(client.document.ops),
    };
  });
  assert.equal(got.refused, true, 'the editor cannot make a video embed');
  assert.equal(got.unchanged, true, 'a video embed, inserted or pasted, does not get in');
  assert.equal(got.videoButton, false, 'the toolbar offers no video');
  assert.match(got.formulaText ?? '', /e=mc\^2/, 'a formula shows its TeX');
  assert.equal(got.inStep, true, "the editor's document is the client's");
  await page.waitForFunction(() => window.collab.client.synced, null, { timeout: 10000 });
  await context.close();
});
