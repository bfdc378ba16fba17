// auth.test.js — tokens expiring mid-session (issue 13, docs/auth.md): a
// notifier that requires tokens, started here on $COLLAB_E2E_SPARE_PORT
// against the database of tests/e2e/run (the PG* environment), and two Node
// clients (client/collab-client.js) editing one document throughout: one
// refreshes its short-lived token in band and keeps its connection, the
// other never refreshes in time, is closed with 4003 at each expiry, and
// reconnects with a fresh token and resumes. Every acknowledged edit must be
// in the document exactly once, and both must end with the same document.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { CollabClient } from '../../client/collab-client.js';
import { pause, until } from './wait.js';

const require = createRequire(new URL('../../client/package.json', import.meta.url));
const Delta = require('quill-delta');
const WebSocket = require('ws');
const SPARE = process.env.COLLAB_E2E_SPARE_PORT;
const OUT = process.env.COLLAB_E2E_OUT || 'build/e2e';
const NOTIFIER = new URL('../../build/notifier/collab-notifier', import.meta.url).pathname;


const b64url = (buf) => Buffer.from(buf).toString('base64url');
function sign(secret, claims) {
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64url(JSON.stringify(claims));
  const mac = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  return `${head}.${body}.${b64url(mac)}`;
}

test('a token expiring mid-session: refreshed in band, or closed 4003 and resumed; every edit once', async (t) => {
  assert.ok(SPARE, 'tests/e2e/run sets COLLAB_E2E_SPARE_PORT');
  const { PGHOST, PGPORT, PGUSER, PGDATABASE } = process.env;
  const secret = randomBytes(32).toString('hex');
  const secretFile = `${OUT}/auth-e2e.secret`;
  writeFileSync(secretFile, `${secret}\n`, { mode: 0o600 });
  const log = openSync(`${OUT}/notifier-auth.log`, 'w');
  const notifier = spawn(NOTIFIER, ['--dsn', `host=${PGHOST} port=${PGPORT} user=${PGUSER} dbname=${PGDATABASE}`,
    '--listen', `127.0.0.1:${SPARE}`, '--auth-secret-file', secretFile], { stdio: ['ignore', log, log] });
  closeSync(log);
  t.after(() => notifier.exitCode === null && notifier.kill('SIGTERM'));
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${SPARE}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i === 100 || notifier.exitCode !== null) assert.fail('the notifier did not come up (build/e2e/notifier-auth.log)');
    await pause(100);
  }

  const doc = `auth-${Date.now().toString(36)}`;
  const rights = { create: [doc] };
  const tokenFor = (user, seconds) => async () => sign(secret, { sub: user, aud: 'collab', exp: Math.floor(Date.now() / 1000) + seconds, collab: rights });
  const url = `ws://127.0.0.1:${SPARE}/ws`;
  const base = { url, doc, Delta, WebSocket, backoffMinMs: 50, backoffMaxMs: 400 };
  // refreshes at half of a 4 s life: never closed
  const keeper = new CollabClient({ ...base, clientId: 'keeper', getToken: tokenFor('kim', 4), tokenRefreshAt: 0.5 }).start();
  // a 2 s token it refreshes far too late: closed 4003 at each expiry
  const lapser = new CollabClient({ ...base, clientId: 'lapser', getToken: tokenFor('lee', 2), tokenRefreshAt: 30 }).start();
  t.after(() => {
    keeper.stop();
    lapser.stop();
  });
  const closes = { keeper: 0, lapser: 0 };
  const lapses = []; // ms between a token's exp and the close
  let lapserExp = 0;
  lapser.on('authenticated', ({ exp }) => (lapserExp = exp));
  keeper.on('connection', (s) => s === 'closed' && closes.keeper++);
  lapser.on('connection', (s) => {
    if (s !== 'closed') return;
    closes.lapser++;
    lapses.push(Date.now() - lapserExp * 1000);
  });
  await until('both subscribed', () => keeper.rev >= 0 && lapser.rev >= 0, 15000);

  // both edit for 7 s: a word at the start every 100 ms or so
  const words = { keeper: [], lapser: [] };
  const end = Date.now() + 7000;
  for (let i = 0; Date.now() < end; i++) {
    for (const [name, c] of [['keeper', keeper], ['lapser', lapser]]) {
      if (c.rev < 0) continue; // between a close and its resume
      const w = `${name[0]}${i}.`;
      c.submit(new Delta().insert(w));
      words[name].push(w);
    }
    await pause(100);
  }
  await until('every edit acknowledged, both at the same revision',
    () => keeper.synced && lapser.synced && keeper.connection === 'open' && lapser.connection === 'open' && keeper.rev === lapser.rev, 20000);

  assert.equal(closes.keeper, 0, 'the client that refreshes in band keeps its connection');
  assert.ok(closes.lapser >= 2, `the client that does not is closed at each expiry (closed ${closes.lapser} times)`);
  for (const ms of lapses) assert.ok(ms > -1500 && ms < 1500, `closed within a second of exp (${ms} ms)`);
  assert.deepEqual(keeper.document.ops, lapser.document.ops, 'both have the same document');
  const text = keeper.document.ops.map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
  for (const w of [...words.keeper, ...words.lapser]) {
    const n = text.split(w).length - 1;
    assert.equal(n, 1, `${w} is in the document once (${n})`);
  }
  t.diagnostic(`${words.keeper.length + words.lapser.length} edits; lapser closed ${closes.lapser} times, ${lapses.join(', ')} ms after exp`);
});
