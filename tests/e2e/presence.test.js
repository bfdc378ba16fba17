// presence.test.js — a presence outlives nothing (issue 12): a second
// notifier, started here on $COLLAB_E2E_SPARE_PORT against the database of
// tests/e2e/run (the PG* environment), is killed with -9 while a client of
// it has a presence. Nobody can then send the "state":{} that clears it; an
// observer on the notifier of tests/e2e/run ($COLLAB_URL) must still see it
// go, within the time to live (short here: the defaults are 15 s and 75 s).
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { CollabClient } from '../../client/collab-client.js';
import { pause, until } from './wait.js';

const require = createRequire(new URL('../../client/package.json', import.meta.url));
const Delta = require('quill-delta');
const WebSocket = require('ws');
const BASE = process.env.COLLAB_URL;
const SPARE = process.env.COLLAB_E2E_SPARE_PORT;
const OUT = process.env.COLLAB_E2E_OUT || 'build/e2e';
const NOTIFIER = new URL('../../build/notifier/collab-notifier', import.meta.url).pathname;

const REFRESH_MS = 300;
const TTL_MS = 1500;


test('the presence of a client whose notifier is killed with -9 goes within the TTL', async (t) => {
  assert.ok(BASE && SPARE, 'tests/e2e/run sets COLLAB_URL and COLLAB_E2E_SPARE_PORT');
  const { PGHOST, PGPORT, PGUSER, PGDATABASE } = process.env;
  const log = openSync(`${OUT}/notifier-killed.log`, 'w');
  const doomed = spawn(NOTIFIER, ['--dsn', `host=${PGHOST} port=${PGPORT} user=${PGUSER} dbname=${PGDATABASE}`, '--listen', `127.0.0.1:${SPARE}`, '--insecure-no-auth'], { stdio: ['ignore', log, log] });
  closeSync(log);
  const exited = new Promise((resolve) => doomed.once('exit', (code, signal) => resolve(signal || code)));
  t.after(() => doomed.exitCode === null && doomed.signalCode === null && doomed.kill('SIGKILL'));
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${SPARE}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i === 100 || doomed.exitCode !== null) assert.fail(`the second notifier did not come up (build/e2e/notifier-killed.log)`);
    await pause(100);
  }

  const doc = `presence-${Date.now().toString(36)}`;
  const options = { doc, Delta, WebSocket, presenceRefreshMs: REFRESH_MS, presenceTtlMs: TTL_MS, backoffMinMs: 50 };
  const ghost = new CollabClient({ ...options, url: `ws://127.0.0.1:${SPARE}/ws`, clientId: `ghost-${doc}` }).start();
  const observer = new CollabClient({ ...options, url: `${BASE.replace(/^http/, 'ws')}/ws`, clientId: `observer-${doc}` }).start();
  t.after(() => {
    ghost.stop();
    observer.stop();
  });
  const cleared = [];
  observer.on('presence', ({ client, state }) => {
    if (client === ghost.clientId && Object.keys(state).length === 0) cleared.push(Date.now());
  });
  await until('both subscribed', () => ghost.rev >= 0 && observer.rev >= 0, 15000);
  ghost.setPresence({ name: 'ghost', index: 0, length: 0 });
  await until("the observer to see the ghost's presence, from the other notifier", () => observer.presences.has(ghost.clientId), 10000);

  // alive, refreshed: it stays past the TTL
  await pause(TTL_MS + REFRESH_MS);
  assert.ok(observer.presences.has(ghost.clientId), 'refreshed across notifiers, the presence stays');
  assert.deepEqual(cleared, []);

  const killedAt = Date.now();
  doomed.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  ghost.stop(); // its browser closed too: nothing of it reaches the database again
  await until(`the ghost's presence to go (TTL ${TTL_MS} ms)`, () => !observer.presences.has(ghost.clientId), TTL_MS + 2000);
  const after = Date.now() - killedAt;
  assert.equal(cleared.length, 1, "the observer's 'presence' event with {}, as for a clear");
  t.diagnostic(`gone ${after} ms after the kill (refresh ${REFRESH_MS} ms, TTL ${TTL_MS} ms)`);
});
