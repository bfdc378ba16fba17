// bench/compare/sharedb-server.js — the ShareDB peer of bench/compare/run: a
// ShareDB 7 backend with the rich-text type, its operations and snapshots in
// PostgreSQL through sharedb-postgres (durable: an op is acknowledged after
// its commit, with the cluster's synchronous_commit on), over WebSockets.
//
//   PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... \
//     node bench/compare/sharedb-server.js PORT
//
// Listens on 127.0.0.1:PORT only and prints "listening" when it does. The
// tables (sharedb-postgres's structure.sql) must exist: the run creates
// them. The pool has 8 connections, as collab-notifier's --pool-size in the
// runs. Stops on SIGTERM.
'use strict';

const http = require('http');
const { Duplex } = require('stream');
const ShareDB = require('sharedb');
const richText = require('rich-text');
const PostgresDB = require('sharedb-postgres');
const { WebSocketServer } = require('ws');

ShareDB.types.register(richText.type);

const port = Number(process.argv[2]);
const db = new PostgresDB({
	host: process.env.PGHOST,
	port: Number(process.env.PGPORT),
	user: process.env.PGUSER,
	database: process.env.PGDATABASE,
	max: 8,
});
const backend = new ShareDB({ db });

// ShareDB's backend reads and writes JSON objects on a stream; a WebSocket
// carries their text.
class SocketStream extends Duplex {
	constructor(socket) {
		super({ objectMode: true });
		this.socket = socket;
		socket.on('message', (data) => {
			let msg;
			try {
				msg = JSON.parse(data);
			} catch {
				socket.close(1003, 'bad JSON');
				return;
			}
			this.push(msg);
		});
		socket.on('close', () => {
			this.push(null);
			this.destroy();
		});
		socket.on('error', () => this.destroy());
	}

	_read() {}

	_write(msg, _encoding, done) {
		if (this.socket.readyState === 1)
			this.socket.send(JSON.stringify(msg));
		done();
	}
}

const server = http.createServer((_req, res) => res.end('ok'));
const wss = new WebSocketServer({ server });
wss.on('connection', (socket) => backend.listen(new SocketStream(socket)));
server.listen(port, '127.0.0.1', () => console.log('listening'));
process.on('SIGTERM', () => process.exit(0));
