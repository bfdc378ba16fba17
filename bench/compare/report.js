// bench/compare/report.js — the report of one bench/compare/run: reads its
// JSON lines, prints Markdown tables with every ratio taken within that run
// (collab / peer, collab / the ceiling), and draws PNG plots with gnuplot
// (when installed) into OUTDIR.
//
//   node bench/compare/report.js RESULTS.jsonl OUTDIR [--quick 0|1]
//        [--seconds S] [--duration S]
//
// Run by bench/compare/run at its end; run it again on a results file to
// redraw. Prints "—" where a system was not measured.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const [file, outdir] = process.argv.slice(2, 4);
const extra = {};
for (let i = 4; i + 1 < process.argv.length; i += 2) extra[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const rows = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const systems = ['collab', 'sharedb', 'yjs'];
const label = { collab: 'collab', sharedb: 'ShareDB', yjs: 'Yjs (memory)' };

// The metrics of SCENARIO for SYSTEM whose params include PARAMS.
function find(scenario, system, params = {}) {
	const r = rows.find((x) => x.scenario === scenario && x.system === system &&
		Object.entries(params).every(([k, v]) => x.params[k] === v));
	return r ? r.metrics : null;
}
const num = (v, digits = 0) => (v == null || Number.isNaN(v) ? '—' :
	Number(v).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const ratio = (a, b) => (a == null || b == null || !b ? '—' : (a / b).toFixed(2));
const out = [];
const say = (s = '') => out.push(s);
const table = (head, body) => {
	say(`| ${head.join(' | ')} |`);
	say(`|${head.map(() => '---').join('|')}|`);
	body.forEach((r) => say(`| ${r.join(' | ')} |`));
	say();
};
const version = (p) => {
	try {
		return require(path.join(__dirname, 'node_modules', p, 'package.json')).version;
	} catch {
		return '?';
	}
};
const plots = [];

// --- header -----------------------------------------------------------------------
let pg = '?';
try {
	pg = execFileSync('psql', ['-XAtc', 'SHOW server_version'], { encoding: 'utf8' }).trim();
} catch { /* the cluster may be gone: a redraw */ }
let osName = os.type();
try {
	osName = /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'))[1];
} catch { /* keep os.type() */ }
say(`Run: ${new Date().toISOString().slice(0, 16)} UTC, ${extra.quick === '1' ? 'quick' : 'full'} mode, ` +
	`${extra.seconds || '?'} s a measurement, ${extra.duration || '?'} s in all.`);
say(`Machine: ${os.cpus().length} cores (${os.cpus()[0].model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
	`${osName}, PostgreSQL ${pg || '(cluster gone)'}, Node ${process.version}.`);
say(`Peers: sharedb ${version('sharedb')}, rich-text ${version('rich-text')}, sharedb-postgres ${version('sharedb-postgres')}, ` +
	`pg ${version('pg')}, yjs ${version('yjs')}, @y/websocket-server ${version('@y/websocket-server')}, ` +
	`y-protocols ${version('y-protocols')}, ws ${version('ws')}.`);
say();

// --- ceiling --------------------------------------------------------------------------
const ceil = find('ceiling', 'postgres', { notify: false });
const ceilN = find('ceiling', 'postgres', { notify: true });
const ceiling = ceil ? ceil.tps : null;
say('### The ceiling: pgbench, one small row per transaction, 32 clients');
say();
table(['', 'transactions/s', '/ without NOTIFY'], [
	['INSERT', num(ceiling), '1.00'],
	['INSERT + NOTIFY', num(ceilN && ceilN.tps), ratio(ceilN && ceilN.tps, ceiling)],
]);

// --- writers ---------------------------------------------------------------------------
const shapes = rows.filter((r) => r.scenario === 'writers' && r.system === 'collab').map((r) => r.params);
if (shapes.length) {
	say('### Writers, one change in flight each: acknowledgements/s (p50 / p99 ms)');
	say();
	say('collab and ShareDB acknowledge after the commit; Yjs after applying in memory.');
	say();
	const body = [], dat = [];
	for (const p of shapes) {
		const m = Object.fromEntries(systems.map((s) => [s, find('writers', s, p)]));
		const cell = (x) => (x ? `${num(x.acks_per_s)} (${num(x.p50_ms, 1)} / ${num(x.p99_ms, 1)})` : '—');
		const a = (s) => m[s] && m[s].acks_per_s;
		body.push([`${p.writers} on ${p.docs}`, cell(m.collab), cell(m.sharedb), cell(m.yjs),
			ratio(a('collab'), a('sharedb')), ratio(a('collab'), a('yjs')), ratio(a('collab'), ceiling),
			ratio(a('sharedb'), ceiling)]);
		dat.push([`"${p.writers}w/${p.docs}d"`, a('collab') || 0, a('sharedb') || 0, a('yjs') || 0]);
	}
	table(['writers on documents', 'collab', 'ShareDB', 'Yjs (memory)', 'collab / ShareDB', 'collab / Yjs',
		'collab / ceiling', 'ShareDB / ceiling'], body);
	plots.push({ name: 'writers', title: 'Writers: acknowledgements/s (log scale)', ylabel: 'acks/s', log: true, dat });
}

// --- sizes -----------------------------------------------------------------------------
const sizes = rows.filter((r) => r.scenario === 'sizes' && r.system === 'collab').map((r) => r.params.bytes);
if (sizes.length) {
	say('### One writer, document size: acknowledgements/s (p50 ms)');
	say();
	const body = [], dat = [];
	const small = Object.fromEntries(systems.map((s) => [s, find('sizes', s, { bytes: sizes[0] })]));
	for (const b of sizes) {
		const m = Object.fromEntries(systems.map((s) => [s, find('sizes', s, { bytes: b })]));
		const a = (s) => m[s] && m[s].acks_per_s;
		const rel = (s) => ratio(a(s), small[s] && small[s].acks_per_s);
		body.push([b >= 1048576 ? '1 MB' : `${b / 1024} KB`,
			...systems.map((s) => (m[s] ? `${num(a(s))} (${num(m[s].p50_ms, 1)})` : '—')),
			ratio(a('collab'), a('sharedb')), `${rel('collab')} / ${rel('sharedb')} / ${rel('yjs')}`]);
		dat.push([`"${b >= 1048576 ? '1 MB' : `${b / 1024} KB`}"`, ...systems.map((s) => a(s) || 0)]);
	}
	table(['size', 'collab', 'ShareDB', 'Yjs (memory)', 'collab / ShareDB', '/ 1 KB: collab / ShareDB / Yjs'], body);
	plots.push({ name: 'sizes', title: 'One writer by document size: acks/s (log scale)', ylabel: 'acks/s', log: true, dat });
}

// --- latency --------------------------------------------------------------------------
const lat = [['latency50', '1 writer at 20/s, 50 readers'], ['clients1000', '1,000 clients over 100 documents, a writer each at 5/s']];
const latBody = [], latDat = [];
for (const [scen, what] of lat) {
	const m = Object.fromEntries(systems.map((s) => [s, find(scen, s)]));
	if (!m.collab) continue;
	const p = (s, k) => m[s] && m[s][k];
	latBody.push([what, ...systems.map((s) => (m[s] ? `${num(p(s, 'p50_ms'), 1)} / ${num(p(s, 'p99_ms'), 1)}` : '—')),
		`${ratio(p('collab', 'p50_ms'), p('sharedb', 'p50_ms'))} / ${ratio(p('collab', 'p99_ms'), p('sharedb', 'p99_ms'))}`,
		`${ratio(p('collab', 'p50_ms'), p('yjs', 'p50_ms'))} / ${ratio(p('collab', 'p99_ms'), p('yjs', 'p99_ms'))}`]);
	latDat.push([`"${scen === 'latency50' ? '50 readers' : '1,000 clients'} p50"`, ...systems.map((s) => p(s, 'p50_ms') || 0)]);
	latDat.push([`"${scen === 'latency50' ? '50 readers' : '1,000 clients'} p99"`, ...systems.map((s) => p(s, 'p99_ms') || 0)]);
}
if (latBody.length) {
	say('### Latency, submit to receipt by the other subscribers: p50 / p99 ms (lower is better)');
	say();
	table(['scenario', 'collab', 'ShareDB', 'Yjs (memory)', 'collab / ShareDB', 'collab / Yjs'], latBody);
	plots.push({ name: 'latency', title: 'Submit to receipt (ms)', ylabel: 'ms', log: false, dat: latDat });
}

// --- fan-out ----------------------------------------------------------------------------
const fans = rows.filter((r) => r.scenario === 'fanout' && r.system === 'collab').map((r) => r.params.readers);
if (fans.length) {
	say('### Fan-out, one writer as fast as its acks: server CPU µs per delivery (deliveries/s)');
	say();
	say('The server process only (the notifier; the Node process of ShareDB or Yjs); PostgreSQL\'s CPU is in neither.');
	say();
	const body = [], dat = [];
	for (const n of fans) {
		const m = Object.fromEntries(systems.map((s) => [s, find('fanout', s, { readers: n })]));
		const c = (s) => m[s] && m[s].cpu_us_per_delivery;
		body.push([num(n), ...systems.map((s) => (m[s] ? `${num(c(s), 1)} (${num(m[s].delivered_per_s)})` : '—')),
			ratio(c('collab'), c('sharedb')), ratio(c('collab'), c('yjs'))]);
		dat.push([`"${n} readers"`, ...systems.map((s) => c(s) || 0)]);
	}
	table(['readers', 'collab', 'ShareDB', 'Yjs (memory)', 'collab / ShareDB', 'collab / Yjs'], body);
	plots.push({ name: 'fanout', title: 'Fan-out: server CPU per delivery (µs)', ylabel: 'µs', log: false, dat });
}

// --- idle ---------------------------------------------------------------------------------
const idles = rows.filter((r) => r.scenario === 'idle' && r.system === 'collab').map((r) => r.params.clients);
if (idles.length) {
	say('### Idle subscribed connections: server resident memory per connection, bytes');
	say();
	const body = [], dat = [];
	for (const n of idles) {
		const m = Object.fromEntries(systems.map((s) => [s, find('idle', s, { clients: n })]));
		const b = (s) => m[s] && m[s].bytes_per_client;
		body.push([num(n), ...systems.map((s) => num(b(s))), ratio(b('collab'), b('sharedb')), ratio(b('collab'), b('yjs'))]);
		dat.push([`"${n}"`, ...systems.map((s) => b(s) || 0)]);
	}
	table(['connections', 'collab', 'ShareDB', 'Yjs (memory)', 'collab / ShareDB', 'collab / Yjs'], body);
	const failed = rows.find((r) => r.scenario === 'idle-failed');
	if (failed) {
		say(`collab at ${num(failed.params.clients)}: not measured; ${num(failed.metrics.held)} connections were held ` +
			'when the step ran out of time (300 s).');
		say();
	}
	plots.push({ name: 'idle', title: 'Idle: server memory per connection (bytes)', ylabel: 'bytes', log: false, dat });
}

// --- catch-up -------------------------------------------------------------------------------
const cu = Object.fromEntries(systems.map((s) => [s, find('catchup', s)]));
if (cu.collab) {
	say(`### Catch-up of a client ${num(rows.find((r) => r.scenario === 'catchup').params.behind)} revisions behind: ms, p50 (mean) of 3`);
	say();
	say('collab and ShareDB send every change since; Yjs sends one merged update (its state vector sync).');
	say();
	const t = (s) => cu[s] && cu[s].p50_ms;
	table(['collab', 'ShareDB', 'Yjs (memory)', 'collab / ShareDB', 'collab / Yjs'], [[
		...systems.map((s) => (cu[s] ? `${num(t(s), 1)} (${num(cu[s].mean_ms, 1)})` : '—')),
		ratio(t('collab'), t('sharedb')), ratio(t('collab'), t('yjs'))]]);
}

console.log(out.join('\n'));
fs.writeFileSync(path.join(outdir, 'report.md'), out.join('\n') + '\n');

// --- plots ----------------------------------------------------------------------------------
let gnuplot = true;
try {
	execFileSync('gnuplot', ['--version'], { stdio: 'ignore' });
} catch {
	gnuplot = false;
	console.error('report.js: no gnuplot: no plots');
}
for (const p of gnuplot ? plots : []) {
	const dat = path.join(outdir, `${p.name}.dat`);
	fs.writeFileSync(dat, p.dat.map((r) => r.join(' ')).join('\n') + '\n');
	const script = [
		"set terminal pngcairo size 800,420 font 'sans,10'",
		`set output '${path.join(outdir, `${p.name}.png`)}'`,
		`set title '${p.title}'`,
		`set ylabel '${p.ylabel}'`,
		'set style data histograms', 'set style histogram clustered gap 1', 'set style fill solid 0.8 border -1',
		'set boxwidth 0.9', 'set key top left', 'set grid ytics', 'set yrange [0:*]',
		p.log ? 'set logscale y; set yrange [1:*]' : '',
		`plot '${dat}' using 2:xtic(1) title 'collab', '' using 3 title 'ShareDB', '' using 4 title 'Yjs (memory)'`,
	].join('\n');
	execFileSync('gnuplot', [], { input: script });
}
