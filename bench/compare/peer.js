// bench/compare/peer.js — the load generator for ShareDB and Yjs in
// bench/compare/run, through each one's own client library: ShareDB's
// client (sharedb/lib/client over ws) and Yjs's sync protocol (yjs,
// y-protocols, the messages of y-websocket). collab's counterpart is
// bench/notifier/load.c.
//
//   node bench/compare/peer.js --system sharedb|yjs --url ws://127.0.0.1:PORT
//        --role ROLE [--clients N] [--docs D] [--seconds S] [--rate R]
//        [--prefix P] [--size BYTES] [--behind H] [--first I]
//
// One client is one connection on one document (P0 .. P(D-1); client i on
// document (i + I) % D). Roles:
//
//   writers  N writers over D documents, one change in flight each, the
//            next sent when its acknowledgement comes (--rate R: one change
//            every 1/R s instead, a late one sent at the ack), for S
//            seconds. ShareDB: the ack of submitOp, after the commit.
//            Yjs has no acknowledgement: the writer asks the server for
//            what it lacks (sync step 1) after each update and counts the
//            answer (step 2) as the ack: applied in the server's memory,
//            not stored. With --size, document P0 first gets BYTES of text.
//            Prints one JSON object: acks, acks_per_s, ack p50/p99 ms.
//   readers  N subscribers over D documents. Prints "ready" when all are
//            subscribed, counts the changes that arrive and, from the time
//            each change carries (the writers insert "t<us>|", a monotonic
//            clock shared by processes), the latency; on SIGTERM prints one
//            JSON object and exits.
//   idle     N subscribers, as readers, that only hold their connection.
//   catchup  fills document P0 with H changes from one client (not timed),
//            then N times in turn: a client at revision 1 (ShareDB: a
//            snapshot of version 1 ingested, then subscribe) or with an
//            empty document (Yjs: sync step 1 with an empty state vector)
//            catches up; prints p50/mean ms.
//
// Every wait is bounded; the process exits on its own after S + 120 s.
'use strict';

const WebSocket = require('ws');

const opt = {
	system: 'sharedb', url: '', role: 'writers', clients: 1, docs: 1,
	seconds: 5, rate: 0, prefix: 'b-', size: 0, behind: 10000, first: 0,
};
for (let i = 2; i + 1 < process.argv.length; i += 2) {
	const k = process.argv[i].replace(/^--/, '');
	if (!(k in opt)) fail(`unknown option --${k}`);
	opt[k] = typeof opt[k] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
setTimeout(() => fail('timed out'), (opt.seconds + 120) * 1000).unref();

function fail(why) {
	console.error(`peer.js: ${why}`);
	process.exit(1);
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The writers' changes carry their send time: "t<us>|".
function stampOf(text) {
	const m = /^t(\d+)\|/.exec(text);
	return m ? Number(m[1]) : 0;
}

function quantile(sorted, q) {
	return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] : 0;
}

function summary(samplesUs) {
	const s = samplesUs.slice().sort((a, b) => a - b);
	const mean = s.length ? s.reduce((a, b) => a + b, 0) / s.length : 0;
	return {
		p50_ms: quantile(s, 0.5) / 1000, p99_ms: quantile(s, 0.99) / 1000,
		mean_ms: mean / 1000, samples: s.length,
	};
}

// Text of about n bytes, in lines, as a document of that size would have.
function textOf(n) {
	const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\n';
	return line.repeat(Math.ceil(n / line.length)).slice(0, n);
}

// --- ShareDB -------------------------------------------------------------

const sharedb = {
	client: null,

	// A connection with document `name` subscribed (created if missing).
	async open(name, onChange) {
		const ShareDB = this.client || (this.client = require('sharedb/lib/client'));
		ShareDB.types.register(require('rich-text').type);
		const socket = new WebSocket(opt.url);
		const connection = new ShareDB.Connection(socket);
		const doc = connection.get('docs', name);
		// several clients creating one document: all but one are told it
		// exists (and the client fetches it); no other error is expected
		const expected = (err) => {
			if (err.code !== 'ERR_DOC_ALREADY_CREATED') fail(`sharedb: ${err.message}`);
		};
		connection.on('error', expected);
		doc.on('error', expected);
		await new Promise((resolve, reject) => doc.subscribe((err) => (err ? reject(err) : resolve())));
		if (!doc.type) {
			await new Promise((resolve, reject) =>
				doc.create([{ insert: '\n' }], 'rich-text', (err) =>
					err && err.code !== 'ERR_DOC_ALREADY_CREATED' ? reject(err) : resolve()));
		}
		if (onChange) {
			doc.on('op', (op, mine) => {
				if (mine) return;
				const ops = Array.isArray(op) ? op : op.ops;
				const ins = ops.find((o) => typeof o.insert === 'string');
				onChange(ins ? stampOf(ins.insert) : 0);
			});
		}
		return {
			connection, doc,
			// resolves at the ack (after the commit)
			submit(text, at = 0) {
				return new Promise((resolve, reject) =>
					doc.submitOp(at ? [{ retain: at }, { insert: text }] : [{ insert: text }],
						(err) => (err ? reject(err) : resolve())));
			},
			close() { connection.close(); },
		};
	},

	// Time for a client at version 1 to reach the head.
	async catchUp(name, head) {
		const ShareDB = this.client || (this.client = require('sharedb/lib/client'));
		const socket = new WebSocket(opt.url);
		const connection = new ShareDB.Connection(socket);
		await new Promise((resolve) => socket.on('open', resolve));
		const doc = connection.get('docs', name);
		doc.ingestSnapshot({ v: 1, type: 'rich-text', data: [{ insert: '\n' }] }, () => {});
		const t0 = nowUs();
		await new Promise((resolve, reject) => {
			doc.on('op', () => { if (doc.version >= head) resolve(); });
			doc.subscribe((err) => (err ? reject(err) : doc.version >= head && resolve()));
		});
		const us = nowUs() - t0;
		connection.close();
		return us;
	},
};

// --- Yjs ------------------------------------------------------------------

const yjs = {
	// A connection with room `name` synchronised; onChange gets each
	// remote change's stamp.
	async open(name, onChange) {
		const Y = require('yjs');
		const sync = require('y-protocols/sync');
		const encoding = require('lib0/encoding');
		const decoding = require('lib0/decoding');
		const doc = new Y.Doc();
		const text = doc.getText('t');
		const socket = new WebSocket(`${opt.url}/${name}`);
		socket.binaryType = 'arraybuffer';
		let synced, acked = null;
		const ready = new Promise((r) => (synced = r));
		const send = (write) => {
			const e = encoding.createEncoder();
			encoding.writeVarUint(e, 0); // messageSync
			write(e);
			socket.send(encoding.toUint8Array(e));
		};
		socket.on('open', () => send((e) => sync.writeSyncStep1(e, doc)));
		socket.on('message', (data) => {
			const d = decoding.createDecoder(new Uint8Array(data));
			if (decoding.readVarUint(d) !== 0) return; // awareness: not used
			const e = encoding.createEncoder();
			encoding.writeVarUint(e, 0);
			const kind = sync.readSyncMessage(d, e, doc, 'remote');
			if (encoding.length(e) > 1) socket.send(encoding.toUint8Array(e));
			if (kind === sync.messageYjsSyncStep2) {
				synced();
				if (acked) { const a = acked; acked = null; a(); }
			}
		});
		if (onChange) {
			text.observe((event, tr) => {
				if (tr.origin !== 'remote') return;
				const ins = event.delta.find((o) => typeof o.insert === 'string');
				onChange(ins ? stampOf(ins.insert) : 0);
			});
		}
		doc.on('update', (update, origin) => {
			if (origin !== 'remote') send((e) => sync.writeUpdate(e, update));
		});
		await ready;
		return {
			doc,
			// resolves when the server answers the sync step 1 sent after
			// the update: it has applied it (in memory)
			submit(str, at = 0) {
				return new Promise((resolve) => {
					acked = resolve;
					text.insert(at, str);
					send((e) => sync.writeSyncStep1(e, doc));
				});
			},
			close() { socket.close(); },
		};
	},

	async catchUp(name) {
		const t0 = nowUs();
		const c = await this.open(name);
		const us = nowUs() - t0;
		c.close();
		return us;
	},
};

const peer = opt.system === 'sharedb' ? sharedb : opt.system === 'yjs' ? yjs : fail('--system');
const docName = (i) => `${opt.prefix}${(i + opt.first) % opt.docs}`;

async function openAll(onChange) {
	const clients = [];
	// in groups: a burst of thousands of handshakes at once overflows the
	// servers' accept queues
	for (let i = 0; i < opt.clients; i += 100) {
		const group = [];
		for (let j = i; j < Math.min(opt.clients, i + 100); j++)
			group.push(peer.open(docName(j), onChange));
		clients.push(...(await Promise.all(group)));
	}
	return clients;
}

async function writers() {
	// the documents made one by one first: many writers creating one
	// document at once would measure ShareDB's creation race, not writing
	for (let d = 0; d < Math.min(opt.docs, opt.clients); d++) (await peer.open(docName(d))).close();
	if (opt.size) {
		const c = await peer.open(docName(0));
		await c.submit(textOf(opt.size));
		c.close();
	}
	const clients = await openAll(null);
	const samples = [];
	let acks = 0, errors = 0, running = true;
	const t0 = nowUs(), end = t0 + opt.seconds * 1e6;
	const interval = opt.rate ? 1e6 / opt.rate : 0;
	await Promise.all(clients.map(async (c, i) => {
		let next = t0 + (interval ? Math.random() * interval : 0);
		while (running && nowUs() < end) {
			if (interval && nowUs() < next) {
				await sleep((next - nowUs()) / 1000);
				continue;
			}
			next += interval;
			const sent = nowUs();
			try {
				await c.submit(`t${sent}|`);
				acks++;
				samples.push(nowUs() - sent);
			} catch (err) {
				if (++errors < 5) console.error(`peer.js: writer ${i}: ${err.message || err}`);
			}
		}
	}));
	running = false;
	const seconds = (nowUs() - t0) / 1e6;
	clients.forEach((c) => c.close());
	console.log(JSON.stringify({ acks, errors, seconds, acks_per_s: acks / seconds, ...summary(samples) }));
	process.exit(0);
}

async function readers(counting) {
	const samples = [];
	let delivered = 0;
	await openAll(counting ? (stamp) => {
		delivered++;
		if (stamp) samples.push(nowUs() - stamp);
	} : null);
	// on SIGTERM, what is still on its way is read first: until nothing
	// came for 300 ms (10 s at most), so that a slow reader is not counted
	// as a server that did not send
	process.on('SIGTERM', async () => {
		const until = nowUs() + 10e6;
		for (let seen = -1; seen !== delivered && nowUs() < until;) {
			seen = delivered;
			await sleep(300);
		}
		console.log(JSON.stringify({ delivered, ...summary(samples) }));
		process.exit(0);
	});
	console.log('ready');
	setInterval(() => {}, 1e9); // hold until SIGTERM (or the timeout)
}

async function catchup() {
	const name = docName(0);
	const w = await peer.open(name);
	const head = (w.doc.version || 0) + opt.behind;
	for (let k = 0; k < opt.behind; k++) await w.submit('x');
	w.close();
	const samples = [];
	for (let i = 0; i < opt.clients; i++) samples.push(await peer.catchUp(name, head));
	console.log(JSON.stringify({ behind: opt.behind, ...summary(samples) }));
	process.exit(0);
}

const roles = { writers, readers: () => readers(true), idle: () => readers(false), catchup };
(roles[opt.role] || (() => fail('--role')))().catch((err) => fail(err.stack || err));
