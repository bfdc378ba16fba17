// sim.test.js — randomized runs of several CollabClients against an
// in-process model of the notifier (node --test).
//
// The model keeps what docs/protocol.md promises and no more: one ordered
// stream per connection (snapshot, then every revision, an `ack` in place of
// the change when it is this connection's submit in flight), submits
// transformed as collab.submit does and deduplicated by (client, seq), a
// late `ack` for a resubmit of a change the stream already carried, presence
// relayed to the others and cleared when a connection dies (unless its
// notifier died with it: then nobody clears it). Each step is chosen at
// random from: a local edit, a cursor move, the server taking a message, the
// server streaming a revision, a client receiving a message, a connection
// cut (messages in both directions lost), a timer firing. Timers run on a
// virtual clock, in any order (a timer may fire late, never early); the
// clock moves to each one's due time. After the steps everything is
// delivered and the timers run for two presence lifetimes; then every
// client must hold the server's document at the head, with nothing
// unacknowledged, see the others' cursors where they are, and none of a
// client that left with its notifier. Runs are seeded (SIM_SEEDS=N for
// more).
import test from 'node:test';
import assert from 'node:assert/strict';
import Delta from 'quill-delta';
import { CollabClient } from '../collab-client.js';

const SEEDS = Number(process.env.SIM_SEEDS || 300);

function xorshift(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

// The database's side: the log, and submit as collab.submit.
class Server {
  constructor() {
    this.doc = new Delta().insert('\n');
    this.log = []; // {change, client, seq}
    this.committed = new Map(); // "client/seq" -> rev
    this.conns = new Set();
  }
  get head() {
    return this.log.length;
  }
  submit(m) {
    if (m.rev < 0 || m.rev > this.head) return { error: 'invalid_change' };
    let change = new Delta(m.change.ops);
    for (let r = m.rev; r < this.head; r++) change = this.log[r].change.transform(change, true);
    let reach = 0;
    for (const op of change.ops) reach += op.insert === undefined ? op.retain ?? op.delete : 0;
    const next = this.doc.compose(change);
    const last = next.ops.at(-1);
    if (reach > this.doc.length() || typeof last?.insert !== 'string' || !last.insert.endsWith('\n')) return { error: 'invalid_change' };
    this.doc = next;
    this.log.push({ change, client: m.client, seq: m.seq });
    this.committed.set(`${m.client}/${m.seq}`, this.head);
    return { rev: this.head };
  }
}

// One connection: the WebSocket the client holds, and the notifier's
// subscriber on the other end. Nothing moves until the run says so.
class Connection {
  constructor(run) {
    this.run = run;
    this.server = run.server;
    this.toClient = [];
    this.toServer = [];
    this.opened = false;
    this.closed = false;
    this.client = null; // the id the connection stated
    this.pos = null; // last revision streamed, null until subscribed
    this.pending = new Set(); // seqs in flight
    this.presence = false;
    this.server.conns.add(this);
    run.connections.push(this);
  }
  send(text) {
    if (this.closed) throw new Error('send on a closed socket');
    this.toServer.push(JSON.parse(text));
  }
  close() {
    this.cut();
  }
  // SILENT: the notifier died with the connection, and nobody tells the
  // others that its client left
  cut(silent = this.run.rand() < this.run.deaths) {
    if (this.closed) return;
    this.closed = true;
    this.server.conns.delete(this);
    if (this.presence && !silent) this.relay({ type: 'presence', doc: 'd', client: this.client, state: {} });
    this.onclose?.({ code: 1006 });
  }
  relay(msg) {
    for (const c of this.server.conns) if (c.pos !== null && c.client !== this.client) c.toClient.push(msg);
  }
  open() {
    this.opened = true;
    this.onopen?.();
    this.toClient.push({ type: 'hello', client: `server-${this.run.connections.length}`, server: 'model' });
  }
  deliver() {
    if (this.closed || !this.toClient.length) return false;
    this.onmessage?.({ data: JSON.stringify(this.toClient.shift()) });
    return true;
  }
  take() {
    if (this.closed || !this.toServer.length) return false;
    const m = this.toServer.shift();
    if (m.client && !this.client) this.client = m.client;
    const s = this.server;
    if (m.type === 'subscribe') {
      const resume = m.rev !== undefined && m.rev <= s.head && !(this.run.rand() < this.run.snapshotResumes);
      if (resume) this.pos = m.rev;
      else {
        this.pos = s.head;
        this.toClient.push({ type: 'snapshot', doc: 'd', rev: s.head, content: { ops: s.doc.ops } });
      }
    } else if (m.type === 'submit') {
      if (this.pos === null) {
        this.toClient.push({ type: 'error', code: 'not_subscribed', message: 'subscribe first', doc: 'd', seq: m.seq });
        return true;
      }
      const rev = s.committed.get(`${m.client}/${m.seq}`);
      if (rev !== undefined) {
        if (rev <= this.pos) this.toClient.push({ type: 'ack', doc: 'd', rev, seq: m.seq }); // late
        else this.pending.add(m.seq);
        return true;
      }
      const r = s.submit(m);
      if (r.error) {
        this.run.rejected++;
        this.toClient.push({ type: 'error', code: r.error, message: 'refused', doc: 'd', seq: m.seq });
      } else this.pending.add(m.seq);
    } else if (m.type === 'presence' && this.pos !== null) {
      this.presence = Object.keys(m.state).length > 0;
      this.relay({ type: 'presence', doc: 'd', client: this.client, state: m.state });
    }
    return true;
  }
  stream() {
    if (this.closed || this.pos === null || this.pos >= this.server.head) return false;
    const rev = ++this.pos;
    const e = this.server.log[rev - 1];
    if (e.client === this.client && this.pending.delete(e.seq)) this.toClient.push({ type: 'ack', doc: 'd', rev, seq: e.seq });
    else this.toClient.push({ type: 'change', doc: 'd', rev, change: { ops: e.change.ops }, client: e.client, seq: e.seq });
    return true;
  }
}

function randomEdit(doc, rand) {
  const len = doc.length(); // the final "\n" included: never touched
  const at = Math.floor(rand() * len);
  const n = Math.min(len - 1 - at, 1 + Math.floor(rand() * 4));
  const k = rand();
  const texts = ['a', 'bc', 'déf', '😀', '👍🏽', ' ', 'x\n'];
  if (k < 0.5 || n <= 0) return new Delta().retain(at).insert(texts[Math.floor(rand() * texts.length)], rand() < 0.2 ? { bold: true } : undefined);
  if (k < 0.8) return new Delta().retain(at).delete(n);
  return new Delta().retain(at).retain(n, { italic: rand() < 0.5 ? true : null });
}

const canonical = (ops) => JSON.stringify(ops, (k, v) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort()) : v));

// deaths: the share of cuts where the notifier dies (and, with deaths, one
// client leaves that way after the steps)
function simulate(seed, { clients = 3, steps = 400, cutRate = 0.02, snapshotResumes = 0, deaths = 0 } = {}) {
  const rand = xorshift(seed);
  const run = { server: new Server(), connections: [], rand, snapshotResumes, deaths, rejected: 0 };
  const pending = [];
  let clock = 0;
  const now = () => clock;
  const fire = (t) => {
    pending.splice(pending.indexOf(t), 1);
    clock = Math.max(clock, t.due);
    t.fn();
  };
  const timers = {
    setTimeout(fn, ms) {
      const t = { fn, ms, due: clock + ms };
      pending.push(t);
      return t;
    },
    clearTimeout(t) {
      const i = pending.indexOf(t);
      if (i >= 0) pending.splice(i, 1);
    },
  };
  const cs = [];
  for (let i = 0; i < clients; i++) {
    const c = new CollabClient({ url: 'ws://model/ws', doc: 'd', Delta, WebSocket: function () { return new Connection(run); }, clientId: `c${i}`, timers, now, random: rand });
    // where the application's cursor is: as an editor moves a selection
    c.cursor = null;
    c.on('change', (d) => {
      if (c.cursor !== null) c.cursor = d.transformPosition(c.cursor, true);
    });
    c.on('snapshot', () => {
      c.cursor = null;
    });
    c.setPresence({ name: `c${i}` }); // as the Quill binding announces itself
    c.start();
    cs.push(c);
  }
  const live = () => run.connections.filter((x) => !x.closed);
  const any = (xs) => xs[Math.floor(rand() * xs.length)];
  const left = [];
  for (let i = 0; i < steps; i++) {
    const k = rand();
    const c = any(cs);
    const conn = any(live());
    if (k < 0.25) {
      const e = c.document && randomEdit(c.document, rand);
      if (e && c.submit(e) && c.cursor !== null) c.cursor = e.transformPosition(c.cursor, false);
    } else if (k < 0.3) {
      if (c.document) {
        c.cursor = Math.floor(rand() * c.document.length());
        c.setPresence({ index: c.cursor, length: 0, name: c.clientId });
      }
    } else if (k < 0.45) {
      if (conn && !conn.opened) conn.open();
      else conn?.take();
    } else if (k < 0.6) conn?.stream();
    else if (k < 0.9) conn?.deliver();
    else if (k < 0.9 + cutRate) conn?.cut();
    else if (pending.length) fire(pending[0]);
  }
  if (deaths) {
    // the last client leaves with its notifier: no clear reaches the others
    const c = cs.pop();
    for (const x of live()) if (x.client === c.clientId) x.cut(true);
    c.stop();
    left.push(c.clientId);
  }
  // the presence timers never end: run them, in order, for two lifetimes
  const end = clock + 2 * cs[0].presenceTtlMs;
  for (let round = 0; round < 100000; round++) {
    let busy = false;
    for (const x of live()) {
      if (!x.opened) x.open();
      while (x.take() || x.stream() || x.deliver()) busy = true;
    }
    if (!busy) {
      const t = pending.reduce((a, b) => (a === null || b.due < a.due ? b : a), null);
      if (t === null || t.due > end) break;
      fire(t);
      busy = true;
    }
  }
  const want = canonical(run.server.doc.ops);
  const problems = [];
  let cursors = 0;
  let misplaced = 0;
  cs.forEach((c, i) => {
    if (!c.document || canonical(c.document.ops) !== want) problems.push(`client ${i} holds ${c.document && canonical(c.document.ops)}, the server ${want}`);
    if (!c.synced) problems.push(`client ${i} is not synced`);
    if (c.rev !== run.server.head) problems.push(`client ${i} is at revision ${c.rev}, the head is ${run.server.head}`);
    for (const o of cs) {
      if (o === c || c.cursor === null) continue;
      cursors++;
      const seen = o.presences.get(c.clientId);
      if (!seen) problems.push(`client ${o.clientId} does not see ${c.clientId}'s cursor`);
      else if (seen.index !== c.cursor) misplaced++;
    }
    for (const id of left) if (c.presences.has(id)) problems.push(`client ${i} still sees ${id}, who left with its notifier`);
  });
  if (run.rejected) problems.push(`${run.rejected} submits refused`);
  return { problems, cursors, misplaced, head: run.server.head };
}

for (const [name, opts] of [
  ['cuts', {}],
  ['cuts, and resumes answered by snapshots', { snapshotResumes: 0.3 }],
  ['five clients, many cuts', { clients: 5, steps: 600, cutRate: 0.06 }],
  ['notifiers die: half the cuts clear nothing, one client leaves so', { clients: 4, steps: 500, cutRate: 0.04, deaths: 0.5 }],
]) {
  test(`${SEEDS} random runs: ${name}`, () => {
    let cursors = 0;
    let misplaced = 0;
    let revisions = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = simulate(seed, opts);
      assert.deepEqual(r.problems, [], `seed ${seed}`);
      cursors += r.cursors;
      misplaced += r.misplaced;
      revisions += r.head;
    }
    assert.ok(revisions > SEEDS * 5, `the runs did something (${revisions} revisions)`);
    // a cursor can only be off where two inserts meet at it (a tie the
    // server breaks one way and the sender's editor the other)
    assert.ok(misplaced <= cursors * 0.01, `${misplaced} of ${cursors} cursors misplaced`);
  });
}
