// collab-client.js — the client of docs/protocol.md, for browsers and Node.
//
// One CollabClient edits one document. It keeps the classic OT client state:
//
//   rev       the last revision received from the server
//   inflight  at most one submitted change waiting for its ack (with its seq
//             and base revision, and its ops as sent, so that a resubmit
//             is identical)
//   buffer    local edits made since, composed into one change
//
// and the invariant: the local document == the server's document at rev,
// then inflight, then buffer. Incoming changes are transformed against
// inflight, then buffer (the server's change wins ties: it came first), one
// at a time, as the server transforms. A change carrying our client id and
// the in-flight seq is our ack (a resubmit after reconnecting).
//
// The connection comes back by itself with exponential backoff and full
// jitter; on reconnect the client resumes from rev and resubmits inflight
// with the same client id, seq and base (the server deduplicates it).
//
// Dependencies are injected, so the module has no imports: Delta (the
// quill-delta class: in a browser Quill.import('delta'), in Node
// require('quill-delta')) and WebSocket (the browser's, or the ws package).
//
// Events (on(name, fn)): 'connection' ('connecting' | 'open' | 'closed'),
// 'snapshot' (Delta: replace your document), 'change' (Delta to apply to
// your document; {rev, client}), 'sync' (true when nothing is unacknowledged),
// 'rev' (number), 'presence' ({client, state}: state {} means gone),
// 'error' ({code, message, doc, seq}).

const RESYNC_CODES = new Set(['invalid_change', 'internal']);

export class CollabClient {
  constructor({
    url,
    doc,
    Delta,
    WebSocket,
    clientId = null,
    create = true,
    backoffMinMs = 250,
    backoffMaxMs = 10000,
    presenceIntervalMs = 80,
    random = Math.random,
    timers = { setTimeout: (f, ms) => setTimeout(f, ms), clearTimeout: (t) => clearTimeout(t) },
  }) {
    if (!url || !doc || !Delta || !WebSocket) throw new Error('CollabClient needs url, doc, Delta and WebSocket');
    this.url = url;
    this.doc = doc;
    this.Delta = Delta;
    this.WebSocketImpl = WebSocket;
    this.clientId = clientId || randomId(random);
    this.create = create;
    this.backoffMinMs = backoffMinMs;
    this.backoffMaxMs = backoffMaxMs;
    this.presenceIntervalMs = presenceIntervalMs;
    this.random = random;
    this.timers = timers;

    this.rev = -1;
    this.document = null; // Delta, once the snapshot came
    this.inflight = null; // {change: Delta, json, seq, base}
    this.buffer = null; // Delta
    this.seq = 0;
    this.presences = new Map(); // client -> state (positions in our document)
    this.ws = null;
    this.connection = 'closed';
    this.attempt = 0;
    this.stopped = true;
    this.reconnectTimer = null;
    this.presenceTimer = null;
    this.presencePending = null;
    this.presenceSentAt = -Infinity;
    this.fetches = new Map(); // id -> {resolve, reject}
    this.nextFetchId = 1;
    this.listeners = new Map();
  }

  // --- events -------------------------------------------------------------

  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name).delete(fn);
  }

  emit(name, ...args) {
    for (const fn of this.listeners.get(name) || []) fn(...args);
  }

  get synced() {
    return this.inflight === null && this.buffer === null;
  }

  // --- the connection -------------------------------------------------

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.reconnectTimer !== null) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    if (this.ws) this.ws.close(1000);
  }

  connect() {
    this.setConnection('connecting');
    const ws = new this.WebSocketImpl(this.url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.setConnection('open');
    };
    ws.onmessage = (event) => {
      if (this.ws !== ws) return;
      let msg;
      try {
        msg = JSON.parse(typeof event.data === 'string' ? event.data : String(event.data));
      } catch {
        return;
      }
      this.receive(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.setConnection('closed');
      for (const { reject } of this.fetches.values()) reject(new Error('connection closed'));
      this.fetches.clear();
      if (!this.stopped) this.scheduleReconnect();
    };
    ws.onerror = () => {}; // a close follows
  }

  // Full jitter: a random wait up to min * 2^attempt, capped.
  scheduleReconnect() {
    const cap = Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** this.attempt);
    const wait = Math.floor(this.random() * cap);
    this.attempt++;
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, wait);
    return wait;
  }

  setConnection(state) {
    if (this.connection === state) return;
    this.connection = state;
    this.emit('connection', state);
  }

  send(msg) {
    if (!this.ws || this.connection !== 'open') return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // --- local edits ------------------------------------------------------

  // A change the application made to its document (already applied there).
  submit(change) {
    if (!this.document) throw new Error('no document yet: wait for the snapshot');
    const delta = change instanceof this.Delta ? change : new this.Delta(change);
    if (delta.ops.length === 0) return;
    this.document = this.document.compose(delta);
    this.buffer = this.buffer ? this.buffer.compose(delta) : delta;
    if (this.buffer.ops.length === 0) this.buffer = null;
    for (const [client, state] of this.presences) this.presences.set(client, movePresence(state, delta, false));
    this.flush();
    this.emit('sync', this.synced);
  }

  flush() {
    if (this.inflight || !this.buffer || this.rev < 0 || this.connection !== 'open') return;
    const change = this.buffer;
    this.buffer = null;
    // sent: the ops as submitted against base. change is transformed past
    // later revisions as they arrive, but a resubmit must repeat what was
    // sent: the server transforms it past the same revisions itself.
    this.inflight = { change, sent: JSON.stringify(change.ops), seq: ++this.seq, base: this.rev };
    this.sendInflight();
  }

  sendInflight() {
    const f = this.inflight;
    this.send({ type: 'submit', doc: this.doc, rev: f.base, change: { ops: JSON.parse(f.sent) }, client: this.clientId, seq: f.seq });
  }

  // Our presence (e.g. {index, length, name, color}), sent at most every
  // presenceIntervalMs; positions are in our current document.
  setPresence(state) {
    this.presencePending = state;
    if (this.presenceTimer !== null) return;
    const wait = Math.max(0, this.presenceSentAt + this.presenceIntervalMs - Date.now());
    this.presenceTimer = this.timers.setTimeout(() => {
      this.presenceTimer = null;
      this.presenceSentAt = Date.now();
      if (this.presencePending && this.rev >= 0) this.send({ type: 'presence', doc: this.doc, state: this.presencePending });
    }, wait);
  }

  // The document at a revision (default: the head), with its HTML.
  fetch(rev = null) {
    const id = this.nextFetchId++;
    const msg = { type: 'fetch', doc: this.doc, id };
    if (rev !== null) msg.rev = rev;
    return new Promise((resolve, reject) => {
      if (!this.send(msg)) return reject(new Error('not connected'));
      this.fetches.set(id, { resolve, reject });
    });
  }

  // --- what the server says ---------------------------------------------

  receive(msg) {
    switch (msg.type) {
      case 'hello':
        return this.onHello();
      case 'snapshot':
        return this.onSnapshot(msg);
      case 'change':
        return this.onChange(msg);
      case 'ack':
        return this.onAck(msg);
      case 'presence':
        return this.onPresence(msg);
      case 'content':
        return this.onContent(msg);
      case 'error':
        return this.onError(msg);
      default:
        return undefined;
    }
  }

  onHello() {
    const sub = { type: 'subscribe', doc: this.doc, client: this.clientId, create: this.create };
    if (this.rev >= 0) sub.rev = this.rev;
    this.send(sub);
    // resubscribed: what was in flight goes again, unchanged
    if (this.inflight) this.sendInflight();
    else this.flush();
  }

  onSnapshot(msg) {
    const first = this.rev < 0;
    this.rev = msg.rev;
    this.document = new this.Delta(msg.content.ops || msg.content);
    if (!first) {
      // the server could not resume us: its document replaces ours
      this.inflight = null;
      this.buffer = null;
    }
    this.presences.clear();
    this.emit('snapshot', this.document, { rev: this.rev, replaced: !first });
    this.emit('rev', this.rev);
    this.emit('sync', this.synced);
    this.flush();
  }

  onChange(msg) {
    if (this.rev < 0 || msg.rev !== this.rev + 1) return; // not ours to take (the server keeps order)
    const f = this.inflight;
    if (f && msg.client === this.clientId && msg.seq === f.seq) return this.onAck(msg);
    let incoming = new this.Delta(msg.change.ops || msg.change);
    if (this.inflight) {
      const theirs = this.inflight.change.transform(incoming, false);
      this.inflight.change = incoming.transform(this.inflight.change, true);
      incoming = theirs;
    }
    if (this.buffer) {
      const theirs = this.buffer.transform(incoming, false);
      this.buffer = incoming.transform(this.buffer, true);
      incoming = theirs;
    }
    this.document = this.document.compose(incoming);
    this.rev = msg.rev;
    for (const [client, state] of this.presences) this.presences.set(client, movePresence(state, incoming, client === msg.client));
    this.emit('change', incoming, { rev: msg.rev, client: msg.client });
    this.emit('rev', this.rev);
  }

  onAck(msg) {
    const f = this.inflight;
    if (!f || msg.seq !== f.seq) return; // a late ack of a change already confirmed
    if (msg.rev > this.rev) this.rev = msg.rev;
    this.inflight = null;
    this.emit('rev', this.rev);
    this.flush();
    this.emit('sync', this.synced);
  }

  onPresence(msg) {
    if (msg.client === this.clientId) return;
    const gone = !msg.state || Object.keys(msg.state).length === 0;
    if (gone) this.presences.delete(msg.client);
    else {
      // their positions are in the server's document at about our rev:
      // move them past what we have not sent home yet
      let state = msg.state;
      if (this.inflight) state = movePresence(state, this.inflight.change, false);
      if (this.buffer) state = movePresence(state, this.buffer, false);
      this.presences.set(msg.client, state);
    }
    this.emit('presence', { client: msg.client, state: gone ? {} : this.presences.get(msg.client) });
  }

  onContent(msg) {
    const pending = this.fetches.get(msg.id);
    if (!pending) return;
    this.fetches.delete(msg.id);
    pending.resolve({ rev: msg.rev, content: new this.Delta(msg.content.ops || msg.content), html: msg.html });
  }

  onError(msg) {
    if (msg.id !== undefined && this.fetches.has(msg.id)) {
      const pending = this.fetches.get(msg.id);
      this.fetches.delete(msg.id);
      pending.reject(Object.assign(new Error(msg.message), { code: msg.code }));
      return;
    }
    this.emit('error', msg);
    if (msg.code === 'unavailable' && this.inflight && msg.seq === this.inflight.seq) {
      // may or may not have committed: the same submit again is safe
      this.timers.setTimeout(() => {
        if (this.inflight && this.inflight.seq === msg.seq) this.sendInflight();
      }, this.backoffMinMs);
      return;
    }
    if (RESYNC_CODES.has(msg.code) && msg.seq !== undefined) this.resync();
  }

  // Start over from a snapshot: the server refused what we sent.
  resync() {
    this.inflight = null;
    this.buffer = null;
    this.rev = -1;
    this.document = null;
    this.send({ type: 'subscribe', doc: this.doc, client: this.clientId });
  }
}

// Moves a presence's {index, length} through a change. Our own cursor
// stays before text inserted at it by others (priority false) unless it
// belongs to the author of the change (typing pushes the author's cursor).
export function movePresence(state, change, isAuthor) {
  if (!state || typeof state.index !== 'number') return state;
  const start = change.transformPosition(state.index, !isAuthor);
  const end = change.transformPosition(state.index + (state.length || 0), !isAuthor);
  return { ...state, index: start, length: Math.max(0, end - start) };
}

function randomId(random) {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let id = '';
  for (let i = 0; i < 20; i++) id += alphabet[Math.floor(random() * alphabet.length)];
  return id;
}
