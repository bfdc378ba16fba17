// devlogin.test.js — the demo signed in as tools/run signs it in (issue 13,
// docs/auth.md): a notifier of its own, started here on a free port against
// the database of tests/e2e/run (the PG* environment), requiring tokens
// (--auth-secret-file), with the development login (--dev-login) and an
// Origin list naming only its own origin. Its tokens live 6 s
// (--auth-max-token-s), so the demo's cookie renewal happens during the test.
//
// - tools/run's printed URL, /dev-login?next=/?doc=..., lands in the editor
//   signed in as a guest; the cookie is HttpOnly, SameSite=Strict, not
//   Secure (plain http on loopback) and lives as long as the token; an edit
//   is stored with change_log.author = that guest;
// - the page renews its cookie ahead of exp and stays the same guest,
//   connected and editing, through several expiries;
// - a page of another origin cannot open a WebSocket with the user's
//   cookie: the upgrade is refused for its Origin (closed without a message;
//   the notifier's log and /metrics say so), while the same WebSocket from
//   the notifier's own origin is authenticated as the guest. The other
//   origin is 127.0.0.1 on another port: the same site, so SameSite=Strict
//   lets the cookie go along and only the Origin check stands in the way;
//   and 127.0.0.2, another site, when this machine can serve it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { openSync, closeSync, readFileSync, writeFileSync } from 'node:fs';
import { RUN, ready, theBrowser } from './pages.js';
import { pause, until } from './wait.js';

const OUT = process.env.COLLAB_E2E_OUT || 'build/e2e';
const NOTIFIER = new URL('../../build/notifier/collab-notifier', import.meta.url).pathname;
const DEMO = new URL('../../build/demo', import.meta.url).pathname;
const LOG = `${OUT}/notifier-devlogin.log`;
const TOKEN_S = 6;

// A port free on 127.0.0.1 now.
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// A page that opens a WebSocket to URL and reports how it went, served on
// HOST at a free port: {origin, close()}; null when HOST cannot be bound.
async function otherOrigin(host) {
  const page = '<!doctype html><title>elsewhere</title><p>another origin</p>';
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page);
  });
  const ok = await new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, host, () => resolve(true));
  });
  if (!ok) return null;
  return { origin: `http://${host}:${server.address().port}`, close: () => server.close() };
}

// In PAGE: new WebSocket(URL); resolves with {opened, code, messages} once it
// closes, or after two messages (then closes it).
const tryWebSocket = (page, url) =>
  page.evaluate(
    (u) =>
      new Promise((resolve) => {
        const messages = [];
        let opened = false;
        const ws = new WebSocket(u);
        ws.onopen = () => (opened = true);
        ws.onmessage = (e) => {
          messages.push(JSON.parse(e.data));
          if (messages.length === 2) ws.close();
        };
        ws.onclose = (e) => resolve({ opened, code: e.code, messages });
      }),
    url,
  );

const metric = async (base, name) => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
};

let base = null;
let notifier = null;

test.before(async () => {
  const { PGHOST, PGPORT, PGUSER, PGDATABASE } = process.env;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const secretFile = `${OUT}/devlogin.secret`;
  writeFileSync(secretFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  const log = openSync(LOG, 'w');
  notifier = spawn(
    NOTIFIER,
    ['--dsn', `host=${PGHOST} port=${PGPORT} user=${PGUSER} dbname=${PGDATABASE}`, '--listen', `127.0.0.1:${port}`,
      '--static', DEMO, '--auth-secret-file', secretFile, '--dev-login', '--allowed-origins', base,
      '--auth-max-token-s', String(TOKEN_S)],
    { stdio: ['ignore', log, log] },
  );
  closeSync(log);
  for (let i = 0; ; i++) {
    const ok = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i === 100 || notifier.exitCode !== null) assert.fail(`the notifier did not come up (${LOG})`);
    await pause(100);
  }
});
test.after(() => notifier?.exitCode === null && notifier.kill('SIGTERM'));

// A fresh browser context signed in through tools/run's URL, on DOC's
// editor: {context, page, user}.
async function signIn(doc) {
  const context = await theBrowser().newContext({ viewport: { width: 900, height: 600 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.log(`pageerror: ${e.message}`));
  const response = await page.goto(`${base}/dev-login?next=/%3Fdoc%3D${encodeURIComponent(doc)}`);
  assert.equal(response.status(), 200);
  assert.equal(page.url(), `${base}/?doc=${doc}`, 'the login lands in the editor');
  await ready(page);
  await page.waitForFunction(() => window.collab.client.user !== null, null, { timeout: 5000 });
  const user = await page.evaluate(() => window.collab.client.user);
  return { context, page, user };
}

test("tools/run's URL signs in a guest and lands in the editor; edits are stored as that guest's", async () => {
  const doc = `devlogin-${RUN}`;
  const started = Date.now() / 1000;
  const { context, page, user } = await signIn(doc);
  assert.match(user, /^guest-[0-9a-f]{16}$/);
  assert.equal(await page.textContent('#user'), user, 'the page says who is signed in');

  const [cookie] = (await context.cookies(base)).filter((c) => c.name === 'collab_token');
  assert.ok(cookie, 'the login set the token cookie');
  assert.equal(cookie.httpOnly, true, 'HttpOnly: no script holds the token');
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.secure, false, 'not Secure: plain http on loopback');
  assert.equal(cookie.path, '/');
  // the token's life and a week: a guest whose token lapsed (a laptop
  // woken up) still has the cookie to be renewed as the same guest
  const WEEK = 7 * 24 * 3600;
  assert.ok(cookie.expires > started + WEEK && cookie.expires <= started + TOKEN_S + WEEK + 2, `lives as long as the token and a week (${cookie.expires - started} s)`);
  assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read it');

  await page.click('.ql-editor');
  await page.keyboard.insertText('signed in as a guest');
  await page.waitForFunction(() => window.collab.client.synced && window.collab.client.rev >= 1, null, { timeout: 10000 });
  const authors = execFileSync('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-v', `doc=${doc}`], {
    input: "SELECT DISTINCT author FROM collab.change_log WHERE doc_id = :'doc';\n",
  }).toString().trim();
  assert.equal(authors, user, 'change_log.author is the guest');
  await context.close();
});

test('the demo renews its cookie ahead of exp and stays the same guest, connected', async () => {
  const doc = `devlogin-renew-${RUN}`;
  const { context, page, user } = await signIn(doc);
  await page.evaluate(() => {
    window.seen = { users: [], closes: [] };
    window.collab.client.on('authenticated', ({ user: u }) => window.seen.users.push(u));
    window.collab.client.on('connection', (s) => s === 'closed' && window.seen.closes.push(Date.now()));
  });
  // through two expiries of its token, typing all along
  const words = [];
  const end = Date.now() + 2.2 * TOKEN_S * 1000;
  for (let i = 0; Date.now() < end; i++) {
    const w = `w${i}.`;
    await page.evaluate((text) => window.collab.quill.insertText(0, text, 'user'), w);
    words.push(w);
    await pause(250);
  }
  await page.waitForFunction(() => window.collab.client.synced && window.collab.client.connection === 'open', null, { timeout: 10000 });
  const seen = await page.evaluate(() => window.seen);
  assert.ok(seen.users.length >= 2, `authenticated again after renewals (${seen.users.length} times)`);
  assert.deepEqual([...new Set(seen.users)], [user], 'always the same guest');
  assert.ok(seen.closes.length <= seen.users.length, `one planned reconnect per renewal, no 4001 loop (${seen.closes.length} closes)`);
  const text = await page.evaluate(() => window.collab.quill.getText());
  for (const w of words) assert.equal(text.split(w).length - 1, 1, `${w} is in the document once`);
  const log = readFileSync(LOG, 'utf8');
  assert.match(log, new RegExp(`dev-login: renewed ${user} until`), 'the renewal is logged');
  assert.doesNotMatch(log, /token from the cookie refused/, 'no upgrade came with an expired cookie');
  await context.close();
});

test("a page on another origin cannot open a WebSocket with the user's cookie", async (t) => {
  const { context, page, user } = await signIn(`devlogin-origin-${RUN}`);
  const others = [await otherOrigin('127.0.0.1'), await otherOrigin('127.0.0.2')].filter(Boolean);
  t.after(() => others.forEach((o) => o.close()));
  const wsUrl = `${base.replace('http:', 'ws:')}/ws`;

  // from its own origin the cookie authenticates the WebSocket: the test can fail
  const own = await tryWebSocket(page, wsUrl);
  assert.equal(own.opened, true);
  assert.deepEqual(own.messages.map((m) => m.type), ['hello', 'authenticated']);
  assert.equal(own.messages[1].user, user);

  for (const other of others) {
    const refusedBefore = await metric(base, 'collab_notifier_origins_refused_total');
    const elsewhere = await context.newPage();
    await elsewhere.goto(`${other.origin}/`);
    const got = await tryWebSocket(elsewhere, wsUrl);
    assert.equal(got.opened, false, `${other.origin}: the upgrade is refused`);
    assert.deepEqual(got.messages, [], `${other.origin}: not a message`);
    assert.equal(got.code, 1006);
    await until(`the refusal of ${other.origin} in the log`, () => readFileSync(LOG, 'utf8').includes(`ws: refused Origin "${other.origin}"`), 5000);
    assert.equal(await metric(base, 'collab_notifier_origins_refused_total'), refusedBefore + 1, 'and in /metrics');
    await elsewhere.close();
  }
  t.diagnostic(`refused from ${others.map((o) => o.origin).join(' and ')}`);
  await context.close();
});
