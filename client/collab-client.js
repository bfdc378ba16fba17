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
// with the same client id, seq and base (the server deduplicates it). A
// subscription the server ends (database unavailable, an internal error)
// is retried with its own backoff, over the same connection.
//
// If a resume is answered by a snapshot while a change is in flight, that
// change's fate is unknown (the snapshot may or may not contain it): it stays
// in flight as an "orphan" without content until its ack (it was in the
// snapshot, or it is fetched by restarting the stream) or its error. Edits
// buffered before the snapshot are dropped with it (the 'snapshot' event
// says so).
//
// Presence positions travel in the server's coordinates: a sender maps its
// cursor back through its unacknowledged edits and tags it with its rev; a
// receiver moves it through the revisions after that rev (it keeps the last
// historyKeep) and then through its own unacknowledged edits. So a cursor
// stays exact whatever the order in which presence and changes arrive.
//
// Presence has a time to live (docs/protocol.md): a notifier that dies
// cannot say that its clients left. So we send our presence again every
// presenceRefreshMs while we have one, and forget another client's when it
// has not come for presenceTtlMs, as if it had been cleared. One timer for
// ours (the throttled send, else the next refresh) and one for the others'
// (at the oldest one's expiry), whatever their number.
//
// Tokens (docs/auth.md) come one of two ways. getToken: a token sent in
// band after hello and again at tokenRefreshAt of its life, on the same
// connection. Or the application's HttpOnly cookie, which rides on the
// upgrade only: the script never sees it, so renewCookie asks the
// application to renew it at tokenRefreshAt of its life (the
// 'authenticated' message says exp), and the client then reconnects at
// once, the new upgrade carrying it, and resumes from rev like after any
// close. After a 4001 or 4003 close the cookie is renewed before the next
// attempt (else the same stale cookie would be refused again and again).
//
// Dependencies are injected, so the module has no imports: Delta (the
// quill-delta class: in a browser Quill.import('delta'), in Node
// require('quill-delta')) and WebSocket (the browser's, or the ws package).
//
// Events (on(name, fn)): 'connection' ('connecting' | 'open' | 'closed'),
// 'snapshot' (Delta: replace your document; {rev, replaced, dropped}),
// 'change' (Delta to apply to your document; {rev, client}), 'sync' (true
// when nothing is unacknowledged), 'rev' (number), 'presence' ({client,
// state}: state {} means gone, cleared or expired; positions in our
// document), 'error' ({code, message, doc, seq}), 'resync' (the document is
// about to be replaced: stop editing until the 'snapshot'), 'beforechange'
// (a remote change is about to be taken in: submit any edit not yet
// reported, now). hold() and release() make the stream wait while the
// editor cannot take a change (composition).

const RETRY_CODES = new Set(['unavailable', 'rate_limited', 'too_many']);

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
    stableMs = 5000, // a connection open this long resets the backoff
    presenceIntervalMs = 80,
    presenceRefreshMs = 15000, // ours is sent again this often while set; 0: never
    presenceTtlMs = 75000, // theirs is gone when not refreshed for this long; 0: never
    fetchTimeoutMs = 10000,
    historyKeep = 100, // revisions kept to move late presence positions
    getToken = null, // async () => a signed token, sent in band (docs/auth.md); null: the cookie, or none
    renewCookie = null, // async () => renews the token's cookie (then we reconnect), or returns a token to send in band
    tokenRefreshAt = 0.8, // a fresh token is sent (or the cookie renewed) at this fraction of the token's life
    random = Math.random,
    now = () => Date.now(),
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
    this.stableMs = stableMs;
    this.presenceIntervalMs = presenceIntervalMs;
    this.presenceRefreshMs = presenceRefreshMs;
    this.presenceTtlMs = presenceTtlMs;
    this.fetchTimeoutMs = fetchTimeoutMs;
    this.historyKeep = historyKeep;
    this.getToken = getToken;
    this.renewCookie = getToken ? null : renewCookie; // getToken wins: its token replaces any cookie
    this.tokenRefreshAt = tokenRefreshAt;
    this.random = random;
    this.now = now;
    this.timers = timers;

    this.rev = -1;
    this.document = null; // Delta, once the snapshot came
    this.inflight = null; // {change: Delta (null for an orphan), sent, seq, base}
    this.buffer = null; // Delta
    this.seq = 0;
    this.awaitingSnapshot = false; // resynchronising: changes are not ours to take
    this.restarting = false; // asked for the stream again after a gap
    this.holding = false; // the application asked us to wait (hold/release)
    this.held = []; // stream messages received meanwhile, in order
    this.history = []; // [{rev, change, client}], the last historyKeep revisions
    this.remote = new Map(); // client -> {state, rev, seen}: positions at the server's rev; seen: now() when it last came
    this.presences = new Map(); // client -> state, positions in our document
    this.me = null; // our presence as the application gave it, kept in our document
    this.meLossy = false; // our cursor is inside our unacknowledged text
    this.meShown = false; // the others may hold our presence (sent on this connection, not cleared)
    this.ws = null;
    this.connection = 'closed';
    this.subscribed = false; // subscribe sent on this connection
    this.openedAt = 0;
    this.attempt = 0;
    this.retryAttempt = 0;
    this.stopped = true;
    this.reconnectTimer = null;
    this.retryTimer = null;
    this.presenceTimer = null;
    this.presenceDue = 0; // now() when presenceTimer fires
    this.presenceSentAt = -Infinity;
    this.expiryTimer = null; // at the oldest remote presence's expiry
    this.user = null; // the authenticated user (docs/protocol.md, Authentication)
    this.selfId = this.clientId; // the id our changes carry: user/clientId once authenticated
    this.refreshTimer = null; // sends a fresh token (or renews the cookie) before the current one expires
    this.renewFirst = false; // renew the cookie before the next connection (it was refused: 4001, 4003)
    this.renewing = null; // that renewal's promise, while it runs
    this.renewedToken = null; // a token renewCookie returned for the next connection, sent in band at hello
    this.replacing = null; // the socket we closed to reconnect with a renewed cookie
    this.fetches = new Map(); // id -> {resolve, reject, timer}
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
    for (const t of [this.reconnectTimer, this.retryTimer, this.presenceTimer, this.expiryTimer, this.refreshTimer]) if (t !== null) this.timers.clearTimeout(t);
    this.reconnectTimer = this.retryTimer = this.presenceTimer = this.expiryTimer = this.refreshTimer = null;
    if (this.ws) this.ws.close(1000);
  }

  // Reconnects at once (e.g. when the browser says it is online again).
  reconnectNow() {
    if (this.stopped || this.ws) return;
    if (this.reconnectTimer !== null) this.timers.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect();
  }

  connect() {
    if (this.renewing) return; // its end connects
    this.setConnection('connecting');
    if (this.renewFirst) {
      // refused for its token: the cookie must be renewed before an upgrade
      // can carry a valid one, or we would be refused again
      this.renewFirst = false;
      this.renewing = this.renewCookie().then(
        (token) => {
          this.renewing = null;
          this.renewedToken = typeof token === 'string' ? token : null;
          if (!this.stopped && !this.ws) this.connect();
        },
        (e) => {
          this.renewing = null;
          this.renewFirst = true;
          this.emit('error', { code: 'unauthorized', message: `renewCookie failed: ${errorText(e)}` });
          this.setConnection('closed');
          if (!this.stopped) this.scheduleReconnect();
        },
      );
      return;
    }
    const ws = new this.WebSocketImpl(this.url);
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.openedAt = this.now();
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
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      const code = event && event.code;
      const replaced = this.replacing === ws;
      this.replacing = null;
      this.subscribed = false;
      this.meShown = false; // the notifier clears it, or has died with it
      // a connection that lasted was a success: start the backoff over
      if (this.connection === 'open' && this.now() - this.openedAt >= this.stableMs) this.attempt = 0;
      if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
      this.retryTimer = null;
      if (this.refreshTimer !== null) this.timers.clearTimeout(this.refreshTimer);
      this.refreshTimer = null;
      // 4001 (unauthenticated) and 4003 (token expired): like any close,
      // reconnect and resume; getToken is asked again for the new
      // connection, or the cookie renewed before it
      if ((code === 4001 || code === 4003) && this.renewCookie) this.renewFirst = true;
      this.setConnection('closed');
      for (const { reject, timer } of this.fetches.values()) {
        this.timers.clearTimeout(timer);
        reject(new Error('connection closed'));
      }
      this.fetches.clear();
      // nobody tells us who leaves while we are away: forget them all; they
      // answer our presence when we are back
      for (const client of [...this.remote.keys()]) this.forget(client);
      if (this.expiryTimer !== null) this.timers.clearTimeout(this.expiryTimer);
      this.expiryTimer = null;
      if (this.stopped) return;
      // closed by us to carry a renewed cookie: back at once, no backoff
      if (replaced) this.connect();
      else this.scheduleReconnect();
    };
    ws.onerror = () => {}; // a close follows
  }

  // Full jitter: a random wait up to min * 2^attempt, capped.
  scheduleReconnect() {
    const wait = this.backoff(this.attempt++);
    this.reconnectTimer = this.timers.setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, wait);
    return wait;
  }

  backoff(attempt) {
    const cap = Math.min(this.backoffMaxMs, this.backoffMinMs * 2 ** attempt);
    return Math.floor(this.random() * cap);
  }

  // Runs fn after a backoff wait on this connection (a subscription or a
  // submit the server could not take now); one retry pending at a time.
  scheduleRetry(fn) {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    const wait = this.backoffMinMs + this.backoff(this.retryAttempt++);
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      if (this.subscribed || this.connection === 'open') fn();
    }, wait);
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

  // Asks getToken for a token and sends it on this connection (at hello, and
  // ahead of the current token's expiry). A getToken that fails ends the
  // connection: the reconnect asks again, after the usual backoff.
  async sendToken() {
    const ws = this.ws;
    let token;
    try {
      token = await this.getToken();
    } catch (e) {
      this.emit('error', { code: 'unauthorized', message: `getToken failed: ${e && e.message ? e.message : e}` });
      if (this.ws === ws && ws) ws.close(1000);
      return;
    }
    if (this.ws !== ws || this.connection !== 'open') return;
    this.send({ type: 'auth', token });
  }

  // Ahead of a cookie token's expiry: asks renewCookie to renew the cookie,
  // then closes this connection and opens another at once, whose upgrade
  // carries the renewed cookie, and resumes from rev (in flight changes are
  // sent again and deduplicated, as after any reconnect). A token it
  // returns instead is sent in band on this connection. A renewCookie that
  // fails is reported; the connection lives on until exp, and the reconnect
  // after the 4003 close tries again.
  async renewSession() {
    const ws = this.ws;
    let token;
    try {
      token = await this.renewCookie();
    } catch (e) {
      this.emit('error', { code: 'unauthorized', message: `renewCookie failed: ${errorText(e)}` });
      return;
    }
    if (this.ws !== ws || !ws || this.connection !== 'open') return; // closed meanwhile: the next upgrade has the cookie
    if (typeof token === 'string') {
      this.send({ type: 'auth', token });
      return;
    }
    this.replacing = ws;
    ws.close(1000);
  }

  // The server believes our token: our changes carry user/clientId from
  // now on. Subscribes if this connection has not yet, and plans the next
  // token ahead of this one's expiry (exp: seconds since the epoch).
  onAuthenticated(msg) {
    this.user = msg.user;
    this.selfId = `${msg.user}/${this.clientId}`;
    if (this.refreshTimer !== null) this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if ((this.getToken || this.renewCookie) && typeof msg.exp === 'number') {
      const life = msg.exp * 1000 - this.now();
      this.refreshTimer = this.timers.setTimeout(() => {
        this.refreshTimer = null;
        if (this.getToken) this.sendToken();
        else this.renewSession();
      }, Math.max(1000, Math.floor(life * this.tokenRefreshAt)));
    }
    this.emit('authenticated', { user: msg.user, client: this.selfId, exp: msg.exp });
    if (!this.subscribed) this.subscribe();
  }

  // (Re)subscribes on this connection: resumes from rev when we have it,
  // then sends again what is in flight (the server deduplicates it).
  subscribe() {
    const sub = { type: 'subscribe', doc: this.doc, client: this.clientId, create: this.create };
    if (this.rev >= 0 && !this.awaitingSnapshot) sub.rev = this.rev;
    this.subscribed = this.send(sub);
    if (!this.subscribed) return;
    if (this.inflight) this.sendInflight();
    else this.flush();
    if (this.me) this.schedulePresence();
  }

  // --- local edits ------------------------------------------------------

  // A change the application made to its document (already applied there).
  // Returns false when there is no document to apply it to (before the
  // first snapshot, or while resynchronising: the snapshot replaces it).
  submit(change) {
    if (!this.document || this.awaitingSnapshot) return false;
    const delta = change instanceof this.Delta ? change : new this.Delta(change);
    if (delta.ops.length === 0) return true;
    const wasSynced = this.synced;
    this.document = this.document.compose(delta);
    this.buffer = this.buffer ? this.buffer.compose(delta) : delta;
    if (this.buffer.ops.length === 0) this.buffer = null;
    if (this.me) this.me = movePresence(this.me, delta, true);
    this.relocate();
    this.flush();
    if (wasSynced !== this.synced) this.emit('sync', this.synced);
    return true;
  }

  flush() {
    if (this.inflight || !this.buffer || this.rev < 0 || !this.subscribed || this.awaitingSnapshot) return;
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

  // Our presence (e.g. {index, length, name, color}), positions in our
  // current document; sent at most every presenceIntervalMs, and again every
  // presenceRefreshMs while set (the others drop a presence that stops
  // coming). The client moves it through later changes as an editor moves
  // its selection (our inserts at the cursor push it, others' do not), so
  // that what it sends again (to a newcomer, after a reconnect, as a
  // refresh) is still where we are. null or {} clears it: the others are
  // told at once, and the refreshes stop.
  setPresence(state) {
    this.me = state && typeof state === 'object' && Object.keys(state).length > 0 ? state : null;
    if (this.me || this.meShown) this.schedulePresence();
  }

  // Arms our presence's one timer to send it after WAIT ms (by default as
  // soon as the throttle allows); a send already due sooner stays.
  schedulePresence(wait = Math.max(0, this.presenceSentAt + this.presenceIntervalMs - this.now())) {
    const due = this.now() + wait;
    if (this.presenceTimer !== null) {
      if (this.presenceDue <= due) return;
      this.timers.clearTimeout(this.presenceTimer);
    }
    this.presenceDue = due;
    this.presenceTimer = this.timers.setTimeout(() => {
      this.presenceTimer = null;
      // not now: subscribe() and the snapshot schedule it again
      if (this.rev < 0 || !this.subscribed || this.awaitingSnapshot) return;
      if (!this.me) {
        if (this.meShown && this.send({ type: 'presence', doc: this.doc, state: {} })) this.presenceSentAt = this.now();
        this.meShown = false;
        return;
      }
      this.presenceSentAt = this.now();
      this.meShown = this.send({ type: 'presence', doc: this.doc, state: this.outgoingPresence() });
      if (isPeriod(this.presenceRefreshMs)) this.schedulePresence(this.presenceRefreshMs);
    }, wait);
  }

  // Our presence with its positions mapped back to the server's document at
  // rev (before our unacknowledged edits), tagged with that rev.
  outgoingPresence() {
    const state = { ...this.me };
    if (typeof state.index !== 'number') return state;
    let lossy = false;
    const back = (pos) => {
      for (const change of [this.buffer, this.inflight && this.inflight.change]) {
        if (!change) continue;
        const r = positionBefore(change, pos);
        lossy = lossy || r.inside;
        pos = r.pos;
      }
      return pos;
    };
    const start = back(state.index);
    const end = back(state.index + (state.length || 0));
    this.meLossy = lossy;
    return { ...state, index: start, length: Math.max(0, end - start), rev: this.rev };
  }

  // The document at a revision (default: the head), with its HTML.
  fetch(rev = null, timeoutMs = this.fetchTimeoutMs) {
    const id = this.nextFetchId++;
    const msg = { type: 'fetch', doc: this.doc, id };
    if (rev !== null) msg.rev = rev;
    return new Promise((resolve, reject) => {
      if (!this.send(msg)) return reject(new Error('not connected'));
      const timer = this.timers.setTimeout(() => {
        this.fetches.delete(id);
        reject(new Error(`no answer to fetch in ${timeoutMs} ms`));
      }, timeoutMs);
      this.fetches.set(id, { resolve, reject, timer });
    });
  }

  // --- what the server says ---------------------------------------------

  // While held, the document's stream (changes, acks, snapshots) waits in
  // order: an editor in the middle of an IME composition cannot take a
  // remote change under it. Local edits, presence and fetches go on.
  hold() {
    this.holding = true;
  }

  release() {
    this.holding = false;
    while (this.held.length && !this.holding) this.receive(this.held.shift());
  }

  receive(msg) {
    if (this.holding && (msg.type === 'change' || msg.type === 'ack' || msg.type === 'snapshot')) {
      this.held.push(msg);
      return undefined;
    }
    switch (msg.type) {
      case 'hello':
        if (this.renewedToken !== null) {
          // renewCookie gave a token for this connection
          this.send({ type: 'auth', token: this.renewedToken });
          this.renewedToken = null;
          return undefined;
        }
        return this.getToken ? this.sendToken() : this.subscribe();
      case 'authenticated':
        return this.onAuthenticated(msg);
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

  onSnapshot(msg) {
    if (msg.doc !== undefined && msg.doc !== this.doc) return;
    const replaced = this.document !== null;
    const wasSynced = this.synced;
    let dropped = null;
    if (replaced) {
      // the server could not resume us (or we asked for a fresh start): its
      // document replaces ours, and our unacknowledged edits go with it,
      // except the change in flight, whose fate we learn from its ack
      const f = this.inflight;
      dropped = f && f.change ? f.change : null;
      if (this.buffer) dropped = dropped ? dropped.compose(this.buffer) : this.buffer;
      if (f) this.inflight = { ...f, change: null };
      this.buffer = null;
    }
    this.rev = msg.rev;
    this.document = new this.Delta(msg.content.ops || msg.content);
    this.awaitingSnapshot = false;
    this.restarting = false;
    this.retryAttempt = 0;
    this.history = [];
    // the others' positions cannot be moved across a snapshot: keep them as
    // they are (an application clamps them) until they move again
    for (const [id, entry] of this.remote) this.remote.set(id, { ...entry, rev: this.rev });
    this.relocate();
    this.emit('snapshot', this.document, { rev: this.rev, replaced, dropped });
    this.emit('rev', this.rev);
    this.flush();
    if (wasSynced !== this.synced || replaced) this.emit('sync', this.synced);
    if (this.me) this.schedulePresence();
  }

  onChange(msg) {
    if (msg.doc !== undefined && msg.doc !== this.doc) return;
    if (this.rev < 0 || this.awaitingSnapshot || msg.rev <= this.rev) return; // an old stream's, or a duplicate
    if (msg.rev > this.rev + 1) {
      // a gap (the server promises none): ask for the stream again, once
      if (!this.restarting) {
        this.restarting = true;
        this.subscribe();
      }
      return;
    }
    this.restarting = false;
    this.retryAttempt = 0;
    // the application's last chance to hand over an edit made against the
    // document as it was (it may call submit now)
    this.emit('beforechange', msg);
    const f = this.inflight;
    const ours = f && msg.client === this.selfId && msg.seq === f.seq;
    if (ours && f.change) return this.onAck(msg);
    // an orphan's own change: committed after our snapshot, we take it as
    // anyone's; then what waited in the buffer can go
    if (ours) this.inflight = null;
    const server = new this.Delta(msg.change.ops || msg.change);
    let incoming = server;
    if (this.inflight && this.inflight.change) {
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
    if (this.me) this.me = movePresence(this.me, incoming, false);
    this.advance(msg.rev, server, msg.client);
    this.emit('change', incoming, { rev: msg.rev, client: msg.client });
    this.emit('rev', this.rev);
    if (ours) {
      this.flush();
      this.emit('sync', this.synced);
    }
  }

  onAck(msg) {
    if ((msg.doc !== undefined && msg.doc !== this.doc) || this.awaitingSnapshot) return;
    const f = this.inflight;
    if (!f || msg.seq !== f.seq) return; // a late ack of a change already confirmed
    this.restarting = false;
    this.retryAttempt = 0;
    this.inflight = null;
    if (!f.change) {
      // an orphan: R <= rev, it was in our snapshot; R = rev + 1, it came
      // right after it, and an ack does not carry the change: start over
      // from a snapshot, which has it
      if (msg.rev > this.rev) return this.resync();
      this.flush();
      this.emit('sync', this.synced);
      return;
    }
    if (msg.rev > this.rev) {
      // R = rev + 1: what the server holds is now our change as we see it
      this.advance(msg.rev, f.change, this.selfId);
      this.emit('rev', this.rev);
    }
    this.flush();
    this.emit('sync', this.synced);
    if (this.meLossy && this.me) this.schedulePresence();
  }

  // Sets rev to REV, the revision CHANGE (by CLIENT) made on the server:
  // keeps it for late presence and moves the others' cursors through it.
  advance(rev, change, client) {
    this.rev = rev;
    this.history.push({ rev, change, client });
    if (this.history.length > this.historyKeep) this.history.shift();
    for (const [id, entry] of this.remote) {
      if (entry.rev >= rev) continue; // sent from ahead of us: already there
      this.remote.set(id, { ...entry, state: movePresence(entry.state, change, id === client), rev });
    }
    this.relocate();
  }

  onPresence(msg) {
    if (msg.doc !== undefined && msg.doc !== this.doc) return;
    if (msg.client === this.selfId) {
      // our id's presence cleared: an old connection of ours has just been
      // found dead, after we came back; say again where we are
      if (this.me && msg.state && Object.keys(msg.state).length === 0) this.schedulePresence();
      return;
    }
    if (!msg.state || typeof msg.state !== 'object' || Object.keys(msg.state).length === 0) {
      if (this.remote.has(msg.client)) this.forget(msg.client);
      return;
    }
    const known = this.remote.has(msg.client);
    let state = msg.state;
    let rev = typeof state.rev === 'number' ? state.rev : this.rev;
    if (rev < this.rev) {
      // sent before revisions we have applied since: move it through them
      const from = this.history.findIndex((h) => h.rev === rev + 1);
      if (from >= 0) for (const h of this.history.slice(from)) state = movePresence(state, h.change, h.client === msg.client);
      rev = this.rev;
    }
    this.remote.set(msg.client, { state, rev, seen: this.now() });
    this.scheduleExpiry();
    this.relocate(msg.client);
    this.emit('presence', { client: msg.client, state: this.presences.get(msg.client) });
    // a newcomer (or one back from a drop) learns where we are
    if (!known && this.me) this.schedulePresence();
  }

  forget(client) {
    this.remote.delete(client);
    this.presences.delete(client);
    this.emit('presence', { client, state: {} });
  }

  // Arms the one expiry timer at the oldest remote presence's end of life:
  // presenceTtlMs after it last came. A refresh moves that end, so the timer
  // may find nothing to drop; it then waits for the new oldest.
  scheduleExpiry() {
    if (this.expiryTimer !== null || this.remote.size === 0 || !isPeriod(this.presenceTtlMs)) return;
    let oldest = Infinity;
    for (const entry of this.remote.values()) oldest = Math.min(oldest, entry.seen);
    const wait = Math.max(0, oldest + this.presenceTtlMs - this.now());
    this.expiryTimer = this.timers.setTimeout(() => {
      this.expiryTimer = null;
      const now = this.now();
      // its notifier died (or lost its database) without clearing it
      for (const [client, entry] of [...this.remote]) if (now - entry.seen >= this.presenceTtlMs) this.forget(client);
      this.scheduleExpiry();
    }, wait);
  }

  // Recomputes the others' positions in our document (theirs are at the
  // server's rev): through inflight, then buffer; our inserts at their
  // cursor do not push it.
  relocate(only = null) {
    for (const [id, entry] of this.remote) {
      if (only !== null && id !== only) continue;
      let state = entry.state;
      if (this.inflight && this.inflight.change) state = movePresence(state, this.inflight.change, false);
      if (this.buffer) state = movePresence(state, this.buffer, false);
      this.presences.set(id, state);
    }
  }

  onContent(msg) {
    const pending = this.fetches.get(msg.id);
    if (!pending) return;
    this.fetches.delete(msg.id);
    this.timers.clearTimeout(pending.timer);
    pending.resolve({ rev: msg.rev, content: new this.Delta(msg.content.ops || msg.content), html: msg.html });
  }

  onError(msg) {
    if (msg.id !== undefined && msg.id !== null) {
      const pending = this.fetches.get(msg.id);
      if (pending) {
        this.fetches.delete(msg.id);
        this.timers.clearTimeout(pending.timer);
        pending.reject(Object.assign(new Error(msg.message), { code: msg.code }));
      }
      return;
    }
    this.emit('error', msg);
    if (msg.doc !== undefined && msg.doc !== null && msg.doc !== this.doc) return;
    const f = this.inflight;
    if (msg.seq !== undefined && msg.seq !== null) {
      if (!f || msg.seq !== f.seq) return; // about a change no longer in flight
      if (RETRY_CODES.has(msg.code)) {
        // may or may not have committed: the same submit again is safe
        this.scheduleRetry(() => {
          if (this.inflight && this.inflight.seq === msg.seq) this.sendInflight();
        });
      } else if (msg.code === 'not_subscribed') {
        this.scheduleRetry(() => this.subscribe());
      } else if (!f.change) {
        // an orphan refused (e.g. its base is gone): it is in no document
        this.inflight = null;
        this.flush();
        this.emit('sync', this.synced);
      } else if (msg.code === 'invalid_change' || msg.code === 'internal') {
        this.resync();
      }
      return;
    }
    if (msg.code === 'rate_limited') {
      // the server dropped one of our messages and does not say which: the
      // ones that matter are safe to repeat
      this.scheduleRetry(() => {
        if (this.rev < 0 || this.awaitingSnapshot) this.subscribe();
        else if (this.inflight) this.sendInflight();
      });
    } else if (msg.code === 'unavailable' || msg.code === 'internal') {
      // the subscription ended (or a presence failed: resuming is harmless)
      this.scheduleRetry(() => this.subscribe());
    }
  }

  // Start over from a snapshot: the server refused what we sent. Our
  // unacknowledged edits are dropped; the 'snapshot' event replaces the
  // document (and says what was dropped).
  resync() {
    this.inflight = null;
    this.awaitingSnapshot = true;
    this.emit('resync');
    this.subscribe();
  }
}

// Moves a presence's {index, length} through a change. A cursor stays
// before text inserted at it by others (priority true) unless it belongs to
// the author of the change (typing pushes the author's cursor).
export function movePresence(state, change, isAuthor) {
  if (!state || typeof state.index !== 'number') return state;
  const start = change.transformPosition(state.index, !isAuthor);
  const end = change.transformPosition(state.index + (state.length || 0), !isAuthor);
  return { ...state, index: start, length: Math.max(0, end - start) };
}

// Maps a position in the document after CHANGE to the document before it:
// {pos, inside}, inside when it was in text CHANGE inserted (then pos is
// where that text starts; its end maps exactly, as the author's insert
// pushes a cursor there).
export function positionBefore(change, pos) {
  let after = 0;
  let before = 0;
  for (const op of change.ops) {
    if (typeof op.insert !== 'undefined') {
      const n = typeof op.insert === 'string' ? op.insert.length : 1;
      if (pos < after + n) return { pos: before, inside: true };
      after += n;
    } else if (op.delete) {
      before += op.delete;
    } else {
      const n = typeof op.retain === 'number' ? op.retain : 1;
      if (pos < after + n) return { pos: before + (pos - after), inside: false };
      after += n;
      before += n;
    }
  }
  return { pos: before + (pos - after), inside: false };
}

// A period a timer can wait: 0, Infinity or junk turns the feature off (a
// browser takes a timeout past 2^31 - 1 ms for 0, and would spin).
function isPeriod(ms) {
  return Number.isFinite(ms) && ms > 0 && ms < 2 ** 31;
}

function errorText(e) {
  return e && e.message ? e.message : String(e);
}

function randomId(random) {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let id = '';
  for (let i = 0; i < 20; i++) id += alphabet[Math.floor(random() * alphabet.length)];
  return id;
}
