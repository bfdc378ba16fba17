// client.test.js — the CollabClient state machine against a scripted fake
// server (node --test). The fake server keeps a real log and transforms
// submits as collab.submit does (each committed change in turn wins ties),
// so every test can check that client and server end with the same document.
import test from 'node:test';
import assert from 'node:assert/strict';
import Delta from 'quill-delta';
import { CollabClient, movePresence } from '../collab-client.js';

// A WebSocket stand-in: the test opens, feeds and closes it.
class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    FakeSocket.all.push(this);
  }
  send(text) {
    if (this.closed) throw new Error('send on a closed socket');
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.drop();
  }
  open() {
    this.onopen();
    this.deliver({ type: 'hello', client: 'server-chosen', server: 'fake' });
  }
  deliver(msg) {
    this.onmessage({ data: JSON.stringify(msg) });
  }
  drop() {
    if (this.closed) return;
    this.closed = true;
    this.onclose({ code: 1006 });
  }
  take(type) {
    const i = this.sent.findIndex((m) => m.type === type);
    assert.ok(i >= 0, `expected the client to send ${type}; it sent ${JSON.stringify(this.sent)}`);
    return this.sent.splice(i, 1)[0];
  }
}

// The server's side of one document: its log, and submit as collab.submit.
class FakeServer {
  constructor() {
    this.doc = new Delta().insert('\n');
    this.log = []; // {change, client, seq}
    this.seen = new Map(); // client/seq -> rev
  }
  get head() {
    return this.log.length;
  }
  submit(m) {
    const key = `${m.client}/${m.seq}`;
    if (this.seen.has(key)) return { rev: this.seen.get(key), duplicate: true };
    let change = new Delta(m.change.ops);
    for (let r = m.rev; r < this.head; r++) change = this.log[r].change.transform(change, true);
    this.doc = this.doc.compose(change);
    this.log.push({ change, client: m.client, seq: m.seq });
    this.seen.set(key, this.head);
    return { rev: this.head, change };
  }
  other(ops) {
    // a change by someone else, against the head
    const change = new Delta(ops);
    this.doc = this.doc.compose(change);
    this.log.push({ change, client: 'other', seq: this.head + 1 });
    return this.changeMsg(this.head);
  }
  changeMsg(rev) {
    const e = this.log[rev - 1];
    return { type: 'change', doc: 'd', rev, change: { ops: e.change.ops }, client: e.client, seq: e.seq };
  }
  snapshot() {
    return { type: 'snapshot', doc: 'd', rev: this.head, content: { ops: this.doc.ops } };
  }
}

// Timers on a virtual clock (pass now: timers.now). Pending timers fire in
// the order of their due times, the clock moving to each.
function fakeTimers() {
  const pending = []; // {fn, ms, due}
  let clock = 0;
  const next = (end) => {
    let first = null;
    for (const t of pending) if (t.due <= end && (first === null || t.due < first.due)) first = t;
    return first;
  };
  const fire = (t) => {
    pending.splice(pending.indexOf(t), 1);
    clock = Math.max(clock, t.due);
    t.fn();
  };
  return {
    pending,
    now: () => clock,
    setTimeout(fn, ms) {
      const t = { fn, ms, due: clock + ms };
      pending.push(t);
      return t;
    },
    clearTimeout(t) {
      const i = pending.indexOf(t);
      if (i >= 0) pending.splice(i, 1);
    },
    // runs what falls due in the next MS (what those timers set, too)
    advance(ms) {
      const end = clock + ms;
      for (let t = next(end); t; t = next(end)) fire(t);
      clock = end;
    },
    // runs every timer due in the next 10 s: waits, backoffs, the throttle,
    // a fetch's timeout; not the presence refresh (15 s) nor its expiry,
    // which would go on for ever
    runAll() {
      const end = clock + 10000;
      for (let t = next(end); t; t = next(end)) fire(t);
    },
  };
}

function setup() {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const server = new FakeServer();
  const client = new CollabClient({ url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, clientId: 'me', timers, now: timers.now, random: () => 0.5 });
  const events = [];
  for (const name of ['connection', 'snapshot', 'change', 'sync', 'rev', 'presence', 'error', 'resync']) client.on(name, (...a) => events.push([name, ...a]));
  client.start();
  const ws = FakeSocket.all[0];
  ws.open();
  const sub = ws.take('subscribe');
  assert.equal(sub.rev, undefined);
  assert.equal(sub.client, 'me');
  ws.deliver(server.snapshot());
  return { client, server, ws, timers, events };
}

function converged(client, server) {
  assert.deepEqual(client.document.ops, server.doc.ops);
  assert.ok(client.synced, 'nothing left unacknowledged');
  assert.equal(client.rev, server.head);
}

test('a local edit is submitted and acknowledged', () => {
  const { client, server, ws } = setup();
  client.submit(new Delta().insert('Hi'));
  const s = ws.take('submit');
  assert.deepEqual([s.rev, s.seq, s.client], [0, 1, 'me']);
  const r = server.submit(s);
  ws.deliver({ type: 'ack', doc: 'd', rev: r.rev, seq: s.seq });
  converged(client, server);
});

test('one change in flight; later edits wait composed in the buffer', () => {
  const { client, server, ws } = setup();
  client.submit(new Delta().insert('a'));
  client.submit(new Delta().retain(1).insert('b'));
  client.submit(new Delta().retain(2).insert('c'));
  const s1 = ws.take('submit');
  assert.equal(ws.sent.filter((m) => m.type === 'submit').length, 0, 'only one submit in flight');
  ws.deliver({ type: 'ack', doc: 'd', rev: server.submit(s1).rev, seq: 1 });
  const s2 = ws.take('submit');
  assert.deepEqual(s2.change.ops, [{ retain: 1 }, { insert: 'bc' }]);
  assert.equal(s2.rev, 1);
  ws.deliver({ type: 'ack', doc: 'd', rev: server.submit(s2).rev, seq: 2 });
  converged(client, server);
});

// every interleaving of: a remote change, our ack, and our later edit
for (const order of [
  ['remote', 'ack', 'edit'],
  ['remote', 'edit', 'ack'],
  ['edit', 'remote', 'ack'],
  ['ack', 'remote', 'edit'],
  ['ack', 'edit', 'remote'],
  ['edit', 'ack', 'remote'],
]) {
  test(`in flight: ${order.join(', ')}`, () => {
    const { client, server, ws, events } = setup();
    client.submit(new Delta().insert('mine'));
    const s1 = ws.take('submit');
    // the server has committed someone else's change at the same place first
    const remote = server.other([{ insert: 'theirs' }]);
    const r1 = server.submit(s1);
    let acked = false;
    let remoteSent = false;
    for (const step of order) {
      if (step === 'remote') {
        // the server's stream is in revision order: remote (1) before our ack (2)
        ws.deliver(remote);
        remoteSent = true;
      } else if (step === 'ack') {
        if (!remoteSent) {
          ws.deliver(remote);
          remoteSent = true;
        }
        ws.deliver({ type: 'ack', doc: 'd', rev: r1.rev, seq: s1.seq });
        acked = true;
      } else {
        client.submit(new Delta().insert('!'));
      }
    }
    assert.ok(acked);
    if (ws.sent.some((m) => m.type === 'submit')) {
      const s2 = ws.take('submit');
      ws.deliver({ type: 'ack', doc: 'd', rev: server.submit(s2).rev, seq: s2.seq });
    }
    converged(client, server);
    assert.ok(events.some(([n, d]) => n === 'change' && d.ops.some((op) => op.insert === 'theirs')));
  });
}

test('reconnect with a change in flight that did not commit: resume and resubmit the same', () => {
  const { client, server, ws, timers } = setup();
  client.submit(new Delta().insert('lost?'));
  const s1 = ws.take('submit');
  ws.drop();
  assert.equal(client.connection, 'closed');
  const remote = server.other([{ insert: 'X' }]);
  client.submit(new Delta().insert('offline '));
  timers.runAll();
  const ws2 = FakeSocket.all[1];
  ws2.open();
  const sub = ws2.take('subscribe');
  assert.equal(sub.rev, 0);
  const again = ws2.take('submit');
  assert.deepEqual(again, s1, 'the resubmit is the same message');
  ws2.deliver(remote);
  const r = server.submit(again);
  ws2.deliver({ type: 'ack', doc: 'd', rev: r.rev, seq: again.seq });
  const s2 = ws2.take('submit');
  ws2.deliver({ type: 'ack', doc: 'd', rev: server.submit(s2).rev, seq: s2.seq });
  converged(client, server);
});

test('reconnect with a change in flight that did commit: its change in the resumed stream is the ack', () => {
  const { client, server, ws, timers } = setup();
  client.submit(new Delta().insert('kept'));
  const s1 = ws.take('submit');
  server.submit(s1); // committed, but the ack was lost with the connection
  ws.drop();
  timers.runAll();
  const ws2 = FakeSocket.all[1];
  ws2.open();
  ws2.take('subscribe');
  const again = ws2.take('submit');
  const dup = server.submit(again);
  assert.ok(dup.duplicate, 'the server deduplicates it');
  ws2.deliver(server.changeMsg(1)); // the resumed stream: our own change
  ws2.deliver({ type: 'ack', doc: 'd', rev: 1, seq: 1 }); // and a late ack, ignored
  converged(client, server);
});

// A resume answered by a snapshot: whether the snapshot holds the change in
// flight, only the answer to its resubmit says. Until then it stays in
// flight (without content); edits buffered before the snapshot are dropped.
for (const when of ['before the snapshot', 'after the snapshot', 'never (refused)']) {
  test(`a snapshot instead of a resume; the change in flight committed ${when}`, () => {
    const { client, server, ws, timers, events } = setup();
    client.submit(new Delta().insert('x'));
    const s1 = ws.take('submit');
    client.submit(new Delta().insert('buffered '));
    if (when === 'before the snapshot') server.submit(s1);
    ws.drop();
    server.other([{ insert: 'server truth ' }]);
    timers.runAll();
    const ws2 = FakeSocket.all.at(-1);
    ws2.open();
    ws2.take('subscribe');
    const again = ws2.take('submit');
    assert.deepEqual(again, s1);
    ws2.deliver(server.snapshot());
    const snap = events.findLast(([n]) => n === 'snapshot');
    assert.ok(snap[2].replaced);
    assert.deepEqual(snap[2].dropped.ops, [{ insert: 'buffered x' }], 'the event says what the snapshot dropped');
    assert.deepEqual(client.document.ops, server.doc.ops);
    assert.ok(!client.synced, 'the change in flight is still unresolved');
    client.submit(new Delta().insert('after '));
    if (when === 'before the snapshot') {
      ws2.deliver({ type: 'ack', doc: 'd', rev: server.submit(again).rev, seq: again.seq }); // a late ack
    } else if (when === 'after the snapshot') {
      const r = server.submit(again);
      ws2.deliver({ type: 'ack', doc: 'd', rev: r.rev, seq: again.seq }); // in the stream: we lack its content
      const sub = ws2.take('subscribe');
      assert.equal(sub.rev, undefined, 'a fresh snapshot brings it');
      ws2.deliver(server.snapshot());
    } else {
      ws2.deliver({ type: 'error', code: 'invalid_change', message: 'no', doc: 'd', seq: again.seq });
    }
    while (ws2.sent.some((m) => m.type === 'submit')) {
      const s = ws2.take('submit');
      ws2.deliver({ type: 'ack', doc: 'd', rev: server.submit(s).rev, seq: s.seq });
    }
    converged(client, server);
  });
}

test('a rejected submit resynchronises from a snapshot', () => {
  const { client, server, ws, events } = setup();
  client.submit(new Delta().insert('bad'));
  const s = ws.take('submit');
  ws.deliver({ type: 'error', code: 'invalid_change', message: 'no', doc: 'd', seq: s.seq });
  const sub = ws.take('subscribe');
  assert.equal(sub.rev, undefined, 'subscribes again without rev');
  ws.deliver(server.snapshot());
  assert.ok(events.some(([n, e]) => n === 'error' && e.code === 'invalid_change'));
  converged(client, server);
});

test('unavailable: the same submit again after a pause', () => {
  const { client, server, ws, timers } = setup();
  client.submit(new Delta().insert('retry'));
  const s = ws.take('submit');
  ws.deliver({ type: 'error', code: 'unavailable', message: 'db down', doc: 'd', seq: s.seq });
  timers.runAll();
  assert.deepEqual(ws.take('submit'), s);
  ws.deliver({ type: 'ack', doc: 'd', rev: server.submit(s).rev, seq: s.seq });
  converged(client, server);
});

test('reconnect waits grow exponentially with jitter, capped', () => {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const client = new CollabClient({ url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, timers, random: () => 0.999, backoffMinMs: 100, backoffMaxMs: 1000 });
  client.start();
  const waits = [];
  for (let i = 0; i < 6; i++) {
    FakeSocket.all.at(-1).drop();
    waits.push(timers.pending[0].ms);
    timers.runAll();
  }
  assert.deepEqual(waits, [99, 199, 399, 799, 999, 999]);
  const low = new CollabClient({ url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, timers, random: () => 0 });
  assert.equal(low.scheduleReconnect(), 0, 'full jitter reaches down to 0');
});

test('presence: remote cursors move with local and remote changes; {} removes them', () => {
  const { client, server, ws, events } = setup();
  client.submit(new Delta().insert('hello world'));
  const s = ws.take('submit');
  ws.deliver({ type: 'ack', doc: 'd', rev: server.submit(s).rev, seq: s.seq });
  ws.deliver({ type: 'presence', doc: 'd', client: 'ada', state: { index: 6, length: 5, name: 'Ada' } });
  assert.deepEqual(client.presences.get('ada'), { index: 6, length: 5, name: 'Ada' });
  client.submit(new Delta().insert('>> '));
  assert.equal(client.presences.get('ada').index, 9, 'our insert before the cursor moves it');
  ws.deliver({ type: 'presence', doc: 'd', client: 'ada', state: {} });
  assert.equal(client.presences.has('ada'), false);
  assert.ok(events.some(([n, p]) => n === 'presence' && p.client === 'ada' && Object.keys(p.state).length === 0));
});

test('movePresence: the author of an insert at the cursor pushes it, others do not', () => {
  const change = new Delta().retain(3).insert('ab');
  assert.equal(movePresence({ index: 3, length: 0 }, change, true).index, 5);
  assert.equal(movePresence({ index: 3, length: 0 }, change, false).index, 3);
  assert.deepEqual(movePresence({ index: 1, length: 4 }, new Delta().retain(2).delete(2), false), { index: 1, length: 2 });
});

test('presence is throttled', () => {
  const { client, ws, timers } = setup();
  client.setPresence({ index: 0 });
  client.setPresence({ index: 1 });
  client.setPresence({ index: 2 });
  assert.equal(timers.pending.length, 1);
  timers.runAll();
  const sent = ws.sent.filter((m) => m.type === 'presence');
  assert.equal(sent.length, 1);
  assert.equal(sent[0].state.index, 2, 'the latest state wins');
});

// A notifier that dies cannot clear its clients' presence: receivers drop
// what is not refreshed within presenceTtlMs, senders refresh meanwhile.
test('a remote presence is gone after presenceTtlMs unless refreshed', () => {
  const { client, ws, timers, events } = setup();
  const ttl = client.presenceTtlMs;
  const gone = (id) => events.filter(([n, p]) => n === 'presence' && p.client === id && Object.keys(p.state).length === 0).length;
  ws.deliver({ type: 'presence', doc: 'd', client: 'ada', state: { index: 0, name: 'Ada' } });
  ws.deliver({ type: 'presence', doc: 'd', client: 'bob', state: { index: 0, name: 'Bob' } });
  assert.equal(timers.pending.length, 1, 'one expiry timer, not one per entry');
  timers.advance(ttl / 2);
  ws.deliver({ type: 'presence', doc: 'd', client: 'ada', state: { index: 0, name: 'Ada' } }); // her refresh
  timers.advance(ttl / 2 - 1);
  assert.deepEqual([...client.presences.keys()], ['ada', 'bob'], 'both still there 1 ms before the TTL');
  timers.advance(1);
  assert.deepEqual([...client.presences.keys()], ['ada'], 'bob, not refreshed, is gone');
  assert.equal(gone('bob'), 1, 'as if cleared: the same event');
  assert.equal(gone('ada'), 0);
  timers.advance(ttl / 2 - 1);
  assert.ok(client.presences.has('ada'), 'her refresh counts from when it came');
  timers.advance(1);
  assert.equal(client.presences.size, 0);
  assert.equal(gone('ada'), 1);
  assert.equal(timers.pending.length, 0, 'nothing left to expire, no timer');
  // she comes back, as a newcomer: she learns where we are
  client.setPresence({ index: 0, name: 'me' });
  timers.runAll();
  ws.sent.length = 0;
  ws.deliver({ type: 'presence', doc: 'd', client: 'ada', state: { index: 0, name: 'Ada' } });
  assert.ok(client.presences.has('ada'));
  timers.runAll();
  assert.deepEqual(ws.sent.map((m) => m.type), ['presence']);
});

test('our presence is sent again every presenceRefreshMs while set, not after it is cleared', () => {
  const { client, ws, timers } = setup();
  const every = client.presenceRefreshMs;
  const sent = () => ws.sent.splice(0).filter((m) => m.type === 'presence').map((m) => m.state);
  client.setPresence({ index: 0, name: 'me' });
  timers.runAll();
  assert.equal(sent().length, 1);
  timers.advance(every - 1);
  assert.equal(sent().length, 0);
  timers.advance(1);
  assert.deepEqual(sent(), [{ index: 0, length: 0, name: 'me', rev: 0 }], 'refreshed');
  // a new state goes out at once (throttled), and the refresh counts from it
  timers.advance(every / 3);
  client.setPresence({ index: 0, name: 'renamed' });
  timers.runAll();
  assert.deepEqual(sent().map((p) => p.name), ['renamed']);
  timers.advance(every - 1);
  assert.equal(sent().length, 0);
  timers.advance(1);
  assert.deepEqual(sent().map((p) => p.name), ['renamed']);
  assert.equal(timers.pending.length, 1, 'one timer for our presence');
  // cleared: the others are told at once, and nothing more
  client.setPresence(null);
  timers.runAll();
  assert.deepEqual(sent(), [{}]);
  timers.advance(every * 5);
  assert.deepEqual(sent(), []);
  assert.equal(timers.pending.length, 0);
});

test('presenceRefreshMs and presenceTtlMs 0: no refresh, no expiry', () => {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const server = new FakeServer();
  const client = new CollabClient({ url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, clientId: 'me', timers, now: timers.now, presenceRefreshMs: 0, presenceTtlMs: 0 });
  client.start();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.deliver(server.snapshot());
  client.setPresence({ index: 0 });
  ws.deliver({ type: 'presence', doc: 'd', client: 'ada', state: { index: 0 } });
  timers.advance(3600 * 1000);
  assert.deepEqual(ws.sent.map((m) => m.type), ['subscribe', 'presence']);
  assert.ok(client.presences.has('ada'));
  assert.equal(timers.pending.length, 0);
});

test('fetch resolves by id, errors reject', async () => {
  const { client, ws } = setup();
  const p1 = client.fetch(3);
  const p2 = client.fetch();
  const [m1, m2] = [ws.take('fetch'), ws.take('fetch')];
  assert.equal(m1.rev, 3);
  assert.equal(m2.rev, undefined);
  ws.deliver({ type: 'content', doc: 'd', rev: 5, content: { ops: [{ insert: 'x\n' }] }, html: '<p>x</p>', id: m2.id });
  ws.deliver({ type: 'error', code: 'invalid_revision', message: 'no', doc: 'd', id: m1.id });
  assert.equal((await p2).html, '<p>x</p>');
  await assert.rejects(p1, (e) => e.code === 'invalid_revision');
});

// a drop at every point around an in-flight change, with a remote change
// committed before ours, and ours committed or not when the drop comes
for (const committed of [false, true]) {
  for (const dropAt of ['before remote', 'after remote', 'after ack']) {
    test(`drop ${dropAt}, our change ${committed ? 'committed' : 'not committed'}`, () => {
      const { client, server, ws, timers } = setup();
      client.submit(new Delta().insert('mine '));
      const s1 = ws.take('submit');
      const remote = server.other([{ insert: 'theirs ' }]);
      let r1 = committed ? server.submit(s1) : null;
      if (dropAt !== 'before remote') ws.deliver(remote);
      if (dropAt === 'after ack' && r1) ws.deliver({ type: 'ack', doc: 'd', rev: r1.rev, seq: s1.seq });
      ws.drop();
      client.submit(new Delta().retain(client.document.length() - 1).insert(' offline'));
      timers.runAll();
      const ws2 = FakeSocket.all.at(-1);
      ws2.open();
      const sub = ws2.take('subscribe');
      // resume: every revision after ours, as the server's stream would send them
      for (let rev = sub.rev + 1; rev <= server.head; rev++) ws2.deliver(server.changeMsg(rev));
      const acked = dropAt === 'after ack' && committed;
      if (!acked) {
        const again = ws2.take('submit');
        assert.equal(again.seq, s1.seq, 'the resubmit keeps its seq');
        const r = server.submit(again);
        assert.equal(Boolean(r.duplicate), committed, 'deduplicated exactly when it had committed');
        if (!r.duplicate) ws2.deliver({ type: 'ack', doc: 'd', rev: r.rev, seq: again.seq });
        r1 = r;
      }
      while (ws2.sent.some((m) => m.type === 'submit')) {
        const s = ws2.take('submit');
        ws2.deliver({ type: 'ack', doc: 'd', rev: server.submit(s).rev, seq: s.seq });
      }
      converged(client, server);
    });
  }
}

test('nothing is submitted on a new connection before its subscribe', () => {
  const { client, server, ws, timers } = setup();
  ws.drop();
  timers.runAll();
  const ws2 = FakeSocket.all.at(-1);
  ws2.onopen(); // open, but no hello yet
  client.submit(new Delta().insert('early '));
  assert.equal(ws2.sent.length, 0, 'waits for hello, then subscribes first');
  ws2.deliver({ type: 'hello', client: 'x', server: 'fake' });
  assert.deepEqual(ws2.sent.map((m) => m.type), ['subscribe', 'submit']);
  const s = ws2.take('submit');
  ws2.take('subscribe');
  ws2.deliver({ type: 'ack', doc: 'd', rev: server.submit(s).rev, seq: s.seq });
  converged(client, server);
});

test('a subscription the server ends (database unavailable) is tried again', () => {
  const { client, server, ws, timers } = setup();
  client.submit(new Delta().insert('kept '));
  const s = ws.take('submit');
  ws.deliver({ type: 'error', code: 'unavailable', message: 'subscribe again later', doc: 'd' });
  assert.equal(timers.pending.length, 1, 'a retry is scheduled');
  assert.ok(timers.pending[0].ms >= 250, 'after a pause');
  timers.runAll();
  const sub = ws.take('subscribe');
  assert.equal(sub.rev, 0, 'resumes where it was');
  assert.deepEqual(ws.take('submit'), s, 'and sends what is in flight again');
  ws.deliver({ type: 'ack', doc: 'd', rev: server.submit(s).rev, seq: s.seq });
  converged(client, server);
});

test('not_subscribed for our submit: subscribe again, then resubmit', () => {
  const { client, server, ws, timers } = setup();
  client.submit(new Delta().insert('a'));
  const s = ws.take('submit');
  ws.deliver({ type: 'error', code: 'not_subscribed', message: 'subscribe first', doc: 'd', seq: s.seq });
  timers.runAll();
  assert.deepEqual(ws.sent.map((m) => m.type), ['subscribe', 'submit']);
  ws.take('subscribe');
  ws.deliver({ type: 'ack', doc: 'd', rev: server.submit(ws.take('submit')).rev, seq: s.seq });
  converged(client, server);
});

test('a gap in the stream asks for it again from rev, once', () => {
  const { client, server, ws } = setup();
  const m1 = server.other([{ insert: 'one ' }]);
  const m2 = server.other([{ insert: 'two ' }]);
  const m3 = server.other([{ insert: 'three ' }]);
  ws.deliver(m2);
  ws.deliver(m3);
  assert.deepEqual(ws.sent.map((m) => [m.type, m.rev]), [['subscribe', 0]]);
  ws.take('subscribe');
  for (const m of [m1, m2, m3]) ws.deliver(m);
  converged(client, server);
});

test('edits while resynchronising are refused; the snapshot says what was dropped', () => {
  const { client, server, ws, events } = setup();
  client.submit(new Delta().insert('bad'));
  const s = ws.take('submit');
  client.submit(new Delta().retain(3).insert(' more'));
  ws.deliver({ type: 'error', code: 'invalid_change', message: 'no', doc: 'd', seq: s.seq });
  assert.ok(events.some(([n]) => n === 'resync'));
  assert.equal(client.submit(new Delta().insert('lost')), false);
  ws.deliver(server.other([{ insert: 'old stream ' }])); // queued before the resubscribe: ignored
  ws.take('subscribe');
  ws.deliver(server.snapshot());
  assert.deepEqual(events.findLast(([n]) => n === 'snapshot')[2].dropped.ops, [{ retain: 3 }, { insert: ' more' }]);
  converged(client, server);
});

test('beforechange: an edit the application reports then is taken against the old document', () => {
  const { client, server, ws } = setup();
  let late = new Delta().insert('late ');
  client.on('beforechange', () => {
    if (late) client.submit(late);
    late = null;
  });
  ws.deliver(server.other([{ insert: 'remote ' }]));
  const s = ws.take('submit');
  assert.equal(s.rev, 0, 'made against revision 0');
  ws.deliver({ type: 'ack', doc: 'd', rev: server.submit(s).rev, seq: s.seq });
  converged(client, server);
});

// Presence positions are sent at the sender's server revision, so they land
// right whatever the order of the presence and the sender's own change.
for (const order of ['presence first', 'change first']) {
  test(`presence travels at a revision: ${order}`, () => {
    const a = setup();
    a.client.submit(new Delta().insert('hello world'));
    const s0 = a.ws.take('submit');
    a.ws.deliver({ type: 'ack', doc: 'd', rev: a.server.submit(s0).rev, seq: s0.seq });
    // B: a second client on the same fake server
    FakeSocket.all = [];
    const b = new CollabClient({ url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, clientId: 'B', timers: a.timers, random: () => 0.5 });
    b.start();
    const wsb = FakeSocket.all[0];
    wsb.open();
    wsb.take('subscribe');
    wsb.deliver(a.server.snapshot());
    // A types "abc" at 5; its cursor is after it, at 8
    a.client.setPresence({ index: 5, length: 0, name: 'A' });
    a.client.submit(new Delta().retain(5).insert('abc'));
    a.client.setPresence({ index: 8, length: 0, name: 'A' });
    a.timers.runAll();
    const p = a.ws.sent.filter((m) => m.type === 'presence').at(-1);
    assert.deepEqual([p.state.index, p.state.rev], [5, 1], 'sent at revision 1, before the unacknowledged "abc"');
    const s = a.ws.take('submit');
    const change = a.server.changeMsg(a.server.submit(s).rev);
    const pres = { type: 'presence', doc: 'd', client: 'me', state: p.state };
    for (const m of order === 'presence first' ? [pres, change] : [change, pres]) wsb.deliver(m);
    assert.equal(b.presences.get('me').index, 8);
  });
}

test('our presence follows changes and is said again to a newcomer', () => {
  const { client, server, ws, timers } = setup();
  client.submit(new Delta().insert('0123456789'));
  const s = ws.take('submit');
  ws.deliver({ type: 'ack', doc: 'd', rev: server.submit(s).rev, seq: s.seq });
  client.setPresence({ index: 4, length: 2, name: 'me' });
  timers.runAll();
  ws.sent.length = 0;
  ws.deliver(server.other([{ insert: 'ab' }])); // before our cursor: it moves
  ws.deliver({ type: 'presence', doc: 'd', client: 'newcomer', state: { index: 0, name: 'N' } });
  timers.runAll();
  const p = ws.take('presence');
  assert.deepEqual([p.state.index, p.state.length, p.state.rev], [6, 2, 2]);
  ws.deliver({ type: 'presence', doc: 'd', client: 'newcomer', state: { index: 1, name: 'N' } });
  timers.runAll();
  assert.equal(ws.sent.length, 0, 'only once');
});

test('after a reconnect the others are forgotten and we say where we are', () => {
  const { client, ws, timers, events } = setup();
  client.setPresence({ index: 0, length: 0 });
  ws.deliver({ type: 'presence', doc: 'd', client: 'ada', state: { index: 0, name: 'Ada' } });
  ws.drop();
  assert.equal(client.presences.size, 0);
  assert.ok(events.some(([n, p]) => n === 'presence' && p.client === 'ada' && Object.keys(p.state).length === 0));
  timers.runAll();
  const ws2 = FakeSocket.all.at(-1);
  ws2.open();
  timers.runAll();
  assert.deepEqual(ws2.sent.map((m) => m.type), ['subscribe', 'presence']);
});

test('fetch gives up after its timeout', async () => {
  const { client, ws, timers } = setup();
  const p = client.fetch(1, 500);
  ws.take('fetch');
  assert.equal(timers.pending.at(-1).ms, 500);
  timers.runAll();
  await assert.rejects(p, /no answer to fetch in 500 ms/);
});

test('the backoff starts over only after a connection that lasted', () => {
  FakeSocket.all = [];
  const timers = fakeTimers();
  let now = 0;
  const client = new CollabClient({ url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, timers, random: () => 0.999, backoffMinMs: 100, backoffMaxMs: 10000, stableMs: 5000, now: () => now });
  client.start();
  const waits = [];
  for (const lasts of [0, 0, 0, 6000, 0]) {
    const ws = FakeSocket.all.at(-1);
    ws.open();
    now += lasts;
    ws.drop();
    waits.push(timers.pending[0].ms);
    timers.runAll();
  }
  assert.deepEqual(waits, [99, 199, 399, 99, 199], 'a server that accepts and drops at once is not hammered');
});

// --- authentication (docs/protocol.md) -----------------------------------

// A client with getToken; its socket opened and the token asked for.
async function setupAuth(tokens) {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const server = new FakeServer();
  const asked = [];
  const getToken = async () => {
    asked.push(tokens[asked.length] ?? 'none');
    return asked[asked.length - 1];
  };
  const client = new CollabClient({ url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, clientId: 'me', timers, now: timers.now, random: () => 0.5, getToken });
  client.start();
  const ws = FakeSocket.all[0];
  ws.open();
  await new Promise((r) => setImmediate(r)); // getToken resolves
  return { client, server, ws, timers, asked };
}

test('getToken: the token goes first, the subscribe after authenticated; user/id is ours', async () => {
  const { client, server, ws, asked } = await setupAuth(['t1']);
  assert.deepEqual(asked, ['t1']);
  assert.deepEqual(ws.sent, [{ type: 'auth', token: 't1' }], 'nothing but the token before authenticated');
  ws.sent.length = 0;
  ws.deliver({ type: 'authenticated', user: 'alice', client: 'alice/server-chosen', exp: 3600 });
  const sub = ws.take('subscribe');
  assert.equal(sub.client, 'me');
  ws.deliver(server.snapshot());
  client.submit(new Delta().insert('Hi'));
  const s = ws.take('submit');
  const r = server.submit({ ...s, client: 'alice/me' }); // the server binds the id
  // our own change in the stream (a resume) is our ack: it carries alice/me
  ws.deliver({ ...server.changeMsg(r.rev) });
  converged(client, server);
  assert.equal(client.selfId, 'alice/me');
});

test('getToken: a fresh token ahead of expiry; a 4003 close reconnects and asks again', async () => {
  const { client, ws, timers, asked } = await setupAuth(['t1', 't2', 't3']);
  ws.deliver({ type: 'authenticated', user: 'alice', client: 'alice/x', exp: 100 }); // 100 s from clock 0
  ws.take('subscribe');
  ws.sent.length = 0;
  timers.advance(79000);
  await new Promise((r) => setImmediate(r));
  assert.equal(ws.sent.length, 0, 'no refresh before 80% of the life');
  timers.advance(1000);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ws.sent, [{ type: 'auth', token: 't2' }], 'a fresh token at 80% of its life');
  // the server closes 4003 (say the refresh came too late): reconnect, token again
  ws.closed = true;
  ws.onclose({ code: 4003 });
  timers.runAll();
  const ws2 = FakeSocket.all[1];
  ws2.open();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(ws2.sent, [{ type: 'auth', token: 't3' }]);
  assert.deepEqual(asked, ['t1', 't2', 't3']);
  client.stop();
});

test('getToken failing closes the connection and reports it; the reconnect asks again', async () => {
  FakeSocket.all = [];
  const timers = fakeTimers();
  let calls = 0;
  const errors = [];
  const client = new CollabClient({
    url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, clientId: 'me', timers, now: timers.now, random: () => 0.5,
    getToken: async () => {
      calls++;
      if (calls === 1) throw new Error('signed out');
      return 'ok';
    },
  });
  client.on('error', (e) => errors.push(e));
  client.start();
  FakeSocket.all[0].open();
  await new Promise((r) => setImmediate(r));
  assert.equal(FakeSocket.all[0].closed, true);
  assert.equal(errors[0].code, 'unauthorized');
  timers.runAll();
  FakeSocket.all[1].open();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(FakeSocket.all[1].sent, [{ type: 'auth', token: 'ok' }]);
  client.stop();
});

// --- the cookie's token: renewCookie (docs/auth.md) ----------------------

// A client authenticated by its cookie (no getToken) with a renewCookie
// hook whose answers come from RESULTS in turn (a function: thrown).
function setupCookie(results) {
  FakeSocket.all = [];
  const timers = fakeTimers();
  const server = new FakeServer();
  const renewals = [];
  const renewCookie = async () => {
    const r = results[renewals.length];
    renewals.push(r);
    if (typeof r === 'function') throw r();
    return r;
  };
  const client = new CollabClient({ url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, clientId: 'me', timers, now: timers.now, random: () => 0.5, renewCookie });
  const errors = [];
  client.on('error', (e) => errors.push(e));
  client.start();
  const ws = FakeSocket.all[0];
  ws.open();
  ws.take('subscribe'); // the cookie authenticates the upgrade: no token to send
  ws.deliver({ type: 'authenticated', user: 'guest-1', client: 'guest-1/server-chosen', exp: 100 });
  ws.deliver(server.snapshot());
  return { client, server, ws, timers, renewals, errors };
}

const settle = () => new Promise((r) => setImmediate(r));

test('renewCookie: called at 80% of the life, then a new connection at once resumes; an edit in flight lands once', async () => {
  const { client, server, ws, timers, renewals } = setupCookie([undefined]);
  client.submit(new Delta().insert('typed'));
  const s1 = ws.take('submit');
  server.submit({ ...s1, client: 'guest-1/me' }); // committed; the ack is lost with the connection
  timers.advance(79000);
  await settle();
  assert.equal(renewals.length, 0, 'not before 80% of the life');
  timers.advance(1000);
  await settle();
  assert.equal(renewals.length, 1, 'renewed at 80% of the life');
  assert.equal(ws.closed, true, 'the connection that carried the old cookie is closed');
  assert.equal(FakeSocket.all.length, 2, 'and another opened at once, no backoff');
  const ws2 = FakeSocket.all[1];
  ws2.open();
  const sub = ws2.take('subscribe');
  assert.equal(sub.rev, 0, 'resumes from its revision');
  const again = ws2.take('submit');
  assert.deepEqual([again.seq, again.rev], [s1.seq, s1.rev], 'the change in flight is sent again as it was');
  const r = server.submit({ ...again, client: 'guest-1/me' });
  assert.equal(r.duplicate, true, 'the server knows it');
  ws2.deliver({ type: 'authenticated', user: 'guest-1', client: 'guest-1/server-chosen', exp: 200 });
  ws2.deliver(server.changeMsg(1)); // the resumed stream: our own change, our ack
  converged(client, server);
  // the next renewal is planned from the new exp
  timers.advance(0.8 * (200000 - timers.now()) - 1);
  await settle();
  assert.equal(renewals.length, 1);
  timers.advance(1);
  await settle();
  assert.equal(renewals.length, 2, 'renewed again at 80% of the new life');
  client.stop();
});

test('renewCookie returning a token: sent in band, the connection stays', async () => {
  const { client, ws, timers, renewals } = setupCookie(['fresh']);
  ws.sent.length = 0;
  timers.advance(80000);
  await settle();
  assert.equal(renewals.length, 1);
  assert.deepEqual(ws.sent, [{ type: 'auth', token: 'fresh' }]);
  assert.equal(ws.closed, false);
  assert.equal(FakeSocket.all.length, 1);
  client.stop();
});

test('renewCookie: after a 4003 close the cookie is renewed before the next attempt; a failed renewal waits and tries again', async () => {
  const { client, ws, timers, renewals, errors } = setupCookie([() => new Error('offline'), () => new Error('offline'), undefined]);
  // the refresh ahead of exp fails: reported, the connection lives until exp
  timers.advance(80000);
  await settle();
  assert.equal(renewals.length, 1);
  assert.equal(errors.at(-1).code, 'unauthorized');
  assert.equal(ws.closed, false, 'a failed renewal does not close the connection');
  // exp: the server closes 4003
  ws.closed = true;
  ws.onclose({ code: 4003 });
  timers.runAll();
  await settle();
  assert.equal(renewals.length, 2, 'renewed before reconnecting');
  assert.equal(FakeSocket.all.length, 1, 'no upgrade with the stale cookie');
  timers.runAll(); // the backoff after the failed renewal
  await settle();
  assert.equal(renewals.length, 3);
  assert.equal(FakeSocket.all.length, 2, 'the renewed cookie goes on the next upgrade');
  const ws2 = FakeSocket.all[1];
  ws2.open();
  assert.equal(ws2.take('subscribe').rev, 0, 'and the client resumes');
  client.stop();
});

test('a cookie client without renewCookie reconnects after 4003 as before; getToken wins over renewCookie', async () => {
  FakeSocket.all = [];
  const timers = fakeTimers();
  let renewed = 0;
  const client = new CollabClient({
    url: 'ws://x/ws', doc: 'd', Delta, WebSocket: FakeSocket, clientId: 'me', timers, now: timers.now, random: () => 0.5,
    getToken: async () => 'tok', renewCookie: async () => renewed++,
  });
  client.start();
  FakeSocket.all[0].open();
  await settle();
  FakeSocket.all[0].deliver({ type: 'authenticated', user: 'u', client: 'u/x', exp: 100 });
  FakeSocket.all[0].closed = true;
  FakeSocket.all[0].onclose({ code: 4003 });
  timers.runAll();
  await settle();
  assert.equal(renewed, 0, 'getToken is the way: no cookie renewal');
  assert.equal(FakeSocket.all.length, 2);
  client.stop();
});
