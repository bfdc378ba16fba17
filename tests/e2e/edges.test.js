// edges.test.js — the demo in headless Chromium where editors usually break
// (tests/e2e/run starts the notifier and sets COLLAB_URL; psql reaches the
// database through the PG* environment):
//
// - a reloaded tab's first edit reaches the database (a client id kept
//   across reloads would restart its seq at 1, and the server would take the
//   new edit for a resubmit of an old one and drop it);
// - an IME composition (CDP Input.imeSetComposition: how CJK input, and
//   every word on Android, arrives) while another page types before it:
//   both editors, the client and the database must agree;
// - another person's cursor is drawn where their selection is, and follows
//   their typing and ours.
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { RUN, openPage as openContext, ready } from './pages.js';
import { pause } from './wait.js';

const openPage = async (doc) => (await openContext(doc)).page;

function serverContent(doc) {
  const out = execFileSync('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', `SELECT collab.content('${doc}')::text`], { encoding: 'utf8' });
  return JSON.stringify(JSON.parse(out.trim()).ops);
}

// What a page shows, what its client holds, and whether it is done.
const state = (page) =>
  page.evaluate(() => {
    const { client, quill } = window.collab;
    return { quill: JSON.stringify(quill.getContents().ops), client: JSON.stringify(client.document.ops), rev: client.rev, done: client.synced && client.connection === 'open' };
  });

// Waits until every page is done at one revision, its editor showing what its
// client holds, all the same; returns that content.
async function converge(pages, timeout = 20000) {
  const end = Date.now() + timeout;
  for (;;) {
    const s = await Promise.all(pages.map(state));
    if (s.every((x) => x.done && x.rev === s[0].rev && x.quill === x.client && x.quill === s[0].quill)) return s[0].quill;
    if (Date.now() > end) assert.fail(`pages did not converge:\n${s.map((x) => JSON.stringify(x)).join('\n')}`);
    await pause(100);
  }
}

test('a reloaded tab\'s first edit reaches the database', async () => {
  const doc = `reload-${RUN}`;
  const page = await openPage(doc);
  await page.click('.ql-editor');
  await page.keyboard.insertText('before ');
  await converge([page]);
  await page.reload();
  await ready(page);
  await page.click('.ql-editor');
  await page.evaluate(() => window.collab.quill.setSelection(window.collab.quill.getLength() - 1, 0, 'user'));
  await page.keyboard.insertText('after');
  const text = await converge([page]);
  assert.equal(serverContent(doc), text);
  assert.match(text, /before after/);
  await page.context().close();
});

test('an IME composition while another page types before it', async () => {
  const doc = `ime-${RUN}`;
  const a = await openPage(doc);
  const b = await openPage(doc);
  await a.click('.ql-editor');
  await a.keyboard.insertText('Start. ');
  await converge([a, b]);
  await b.click('.ql-editor');
  await b.evaluate(() => window.collab.quill.setSelection(0, 0, 'user'));
  await a.evaluate(() => window.collab.quill.setSelection(7, 0, 'user'));
  const ime = await a.context().newCDPSession(a);
  for (const [i, text] of ['n', 'ni', 'nih', 'にほ', 'にほん'].entries()) {
    await ime.send('Input.imeSetComposition', { text, selectionStart: text.length, selectionEnd: text.length });
    await b.keyboard.insertText(`b${i} `); // lands at A while A composes
    await pause(120);
  }
  await ime.send('Input.insertText', { text: '日本' }); // the composition ends
  await a.keyboard.insertText(' done');
  const text = await converge([a, b]);
  assert.equal(serverContent(doc), text);
  assert.equal(JSON.parse(text)[0].insert, 'b0 b1 b2 b3 b4 Start. 日本 done\n');
  await a.context().close();
  await b.context().close();
});

test('a remote cursor is drawn where the other selection is, and follows edits', async () => {
  const doc = `cursor-${RUN}`;
  const a = await openPage(doc);
  const b = await openPage(doc);
  await a.click('.ql-editor');
  await a.keyboard.insertText('0123456789');
  await converge([a, b]);
  const aId = await a.evaluate(() => window.collab.client.clientId);
  const seenByB = () => b.evaluate((id) => {
    const p = window.collab.client.presences.get(id);
    return p && [p.index, p.length];
  }, aId);
  const until = async (want, what) => {
    const end = Date.now() + 5000;
    while (JSON.stringify(await seenByB()) !== JSON.stringify(want)) {
      if (Date.now() > end) assert.fail(`${what}: B sees A at ${JSON.stringify(await seenByB())}, want ${JSON.stringify(want)}`);
      await pause(50);
    }
  };
  await a.evaluate(() => window.collab.quill.setSelection(3, 4, 'user'));
  await until([3, 4], 'a selection');
  // A types over it: the cursor ends after the new text
  await a.keyboard.insertText('abc');
  await until([6, 0], 'after A typed');
  // B types before it: A's cursor moves on both pages alike
  await b.click('.ql-editor');
  await b.evaluate(() => window.collab.quill.setSelection(0, 0, 'user'));
  await b.keyboard.insertText('>> ');
  await converge([a, b]);
  const aSel = await a.evaluate(() => window.collab.quill.getSelection().index);
  assert.equal(aSel, 9);
  await until([9, 0], 'after B typed before it');
  // and cursors.js draws it, labelled with A's name
  const aName = await a.evaluate(() => document.getElementById('name').value);
  await b.waitForSelector('.ql-cursor .ql-cursor-caret-container', { state: 'attached', timeout: 5000 });
  assert.ok((await b.locator('.ql-cursor-name').allTextContents()).includes(aName));
  await a.context().close();
  await b.context().close();
});
