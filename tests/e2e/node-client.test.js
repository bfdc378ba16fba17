// node-client.test.js — collab-client.js in Node (quill-delta and the ws
// package from client/node_modules) against the real notifier of
// tests/e2e/run: three clients edit one document at once, one of them
// losing its socket with a change in flight, and all converge to
// collab.content.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { CollabClient } from '../../client/collab-client.js';
import { until } from './wait.js';

const require = createRequire(new URL('../../client/package.json', import.meta.url));
const Delta = require('quill-delta');
const WebSocket = require('ws');
const BASE = process.env.COLLAB_URL;


test('three Node clients converge, one cut with a change in flight', async () => {
  const doc = `node-${Date.now().toString(36)}`;
  const url = `${BASE.replace(/^http/, 'ws')}/ws`;
  const clients = [0, 1, 2].map((i) => new CollabClient({ url, doc, Delta, WebSocket, clientId: `node-${doc}-${i}`, backoffMinMs: 50 }).start());
  // what each client went through, for the message of a failure
  const events = [[], [], []];
  clients.forEach((c, i) => {
    c.on('error', (m) => events[i].push(`error ${m.code} seq ${m.seq}: ${m.message}`));
    c.on('resync', () => events[i].push('resync'));
    c.on('connection', (state) => events[i].push(`connection ${state}`));
  });
  await until('snapshots', () => clients.every((c) => c.rev >= 0));
  const words = ['alpha ', 'βeta ', '😀 ', 'delta\n'];
  for (let round = 0; round < 20; round++) {
    clients.forEach((c, i) => {
      const len = c.document.length() - 1;
      const at = (round * 7 + i * 3) % (len + 1);
      const change = new Delta().retain(at).insert(words[(round + i) % words.length], i === 1 ? { bold: true } : undefined);
      if (round % 5 === 4 && len > 4) change.retain(1).delete(1);
      c.submit(change);
    });
    if (round === 10) {
      await until(() => `a change in flight (client 2: rev ${clients[2].rev}, ${events[2].join('; ')})`,
        () => clients[2].inflight !== null, 2000);
      clients[2].ws.terminate(); // no close frame: a lost connection
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await until('everyone synced at one revision', () =>
    clients.every((c) => c.synced && c.connection === 'open' && c.rev === clients[0].rev));
  const server = JSON.parse(execFileSync('psql', ['-X', '-A', '-t', '-c', `SELECT collab.content('${doc}')::text`], { encoding: 'utf8' }).trim());
  for (const c of clients) assert.deepEqual(c.document.ops, new Delta(server.ops).ops);
  for (const c of clients) c.stop();
});
