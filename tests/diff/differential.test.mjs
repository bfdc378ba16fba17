// differential.test.mjs — collab's C Delta core against quill-delta 5.1.0.
//
// Every test generates seeded random cases (lib/gen.mjs), computes the
// reference answer with quill-delta, sends the same ops to the C core
// through build/diff/delta_cli (lib/cli.mjs) and compares with deep equality
// (key order irrelevant).  Inputs are always valid (changes fit their
// documents, cut only on code point boundaries) and canonical (built with
// quill's builder), except in the normalisation test, which feeds raw op
// lists, and the error test, which feeds invalid ones.
//
// Replaying: each case draws from its own generator seeded "SEED:fn:i".
//   SEED=s     base seed (default below)           CASES=n  cases per test
//   CASE=i     run case i only (with its SEED)     DELTA_CLI=path  the CLI
// e.g.  SEED=7 CASE=123 tests/diff/run --test-name-pattern='^compose$'
// A failing test prints its first disagreements and writes them all to
// build/diff/failures/<test>.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Delta from 'quill-delta';

import {
  makeRng, clone, fresh, genDoc, genChange, genText, genRawOps,
  builderNormalize, fits, splitPositions,
} from './lib/gen.mjs';
import { runCli, runLines, cliAvailable, CLI, REPO } from './lib/cli.mjs';

const SEED = process.env.SEED ?? '20250601';
const CASES = process.env.CASES !== undefined ? Number(process.env.CASES) : undefined;
const ONLY = process.env.CASE !== undefined ? Number(process.env.CASE) : undefined;
const SHOW = 3; // disagreements printed per failing test

const skip = cliAvailable() ? false : `${CLI} is missing: run tests/diff/run`;

function indexes(defaultCount) {
  if (ONLY !== undefined) return [ONLY];
  const n = CASES ?? defaultCount;
  return Array.from({ length: n }, (_, i) => i);
}

const rngFor = (name, i) => makeRng(`${SEED}:${name}:${i}`);

// Deltas go to the CLI as an array or as {"ops": [...]}, at random.
const wire = (rng, d) => (rng.chance(0.5) ? clone(d.ops) : { ops: clone(d.ops) });
const asResult = (d) => ({ ops: clone(d.ops) });
const show = (x) => JSON.stringify(x);

function check(cond, what) {
  if (!cond) throw new Error(`generator produced an invalid case: ${what}`);
}

// Records disagreements; fail() ends the test with a readable message.
class Disagreements {
  constructor(name) {
    this.name = name;
    this.list = [];
    this.compared = 0;
  }
  add(entry) {
    this.list.push(entry);
  }
  finish(t) {
    t.diagnostic(`${this.name}: ${this.compared} comparisons, ${this.list.length} disagreements (SEED=${SEED})`);
    if (this.list.length === 0) return;
    const dir = path.join(REPO, 'build/diff/failures');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${this.name}.json`);
    writeFileSync(file, JSON.stringify(this.list, null, 1));
    const lines = this.list.slice(0, SHOW).map((e) =>
      [
        `case ${e.case} (replay: SEED=${SEED} CASE=${e.case} tests/diff/run --test-name-pattern='^${this.name}$')`,
        `  request: ${show(e.request)}`,
        `  quill:   ${show(e.expected)}`,
        `  ours:    ${show(e.ours)}`,
        e.note ? `  note:    ${e.note}` : null,
      ]
        .filter(Boolean)
        .join('\n'),
    );
    assert.fail(
      `${this.list.length} of ${this.compared} ${this.name} comparisons disagree with quill-delta ` +
        `(all in ${path.relative(REPO, file)}):\n${lines.join('\n')}`,
    );
  }
}

// Runs checks [{case, request, expected}] through the CLI and compares
// answer.ok with expected.
function compareAll(name, checks, d = new Disagreements(name)) {
  const answers = runCli(checks.map((c) => c.request));
  checks.forEach((c, k) => {
    const answer = answers[k];
    d.compared++;
    if ('ok' in answer && isDeepStrictEqual(answer.ok, c.expected)) return;
    d.add({ case: c.case, request: c.request, expected: c.expected, ours: answer, note: c.note });
  });
  return d;
}

// A test over generated cases: make(rng, i) returns checks for case i.
function differential(name, count, make) {
  test(name, { skip }, (t) => {
    const checks = [];
    for (const i of indexes(count)) {
      for (const c of make(rngFor(name, i), i)) checks.push({ case: i, ...c });
    }
    compareAll(name, checks).finish(t);
  });
}

// --- compose ----------------------------------------------------------------

differential('compose', 3000, (rng) => {
  const doc = genDoc(rng);
  const a = genChange(rng, doc);
  const docA = fresh(doc.compose(a));
  const b = genChange(rng, docA);
  check(fits(doc, a) && fits(docA, b), 'compose input');
  return [{ request: { fn: 'compose', a: wire(rng, a), b: wire(rng, b) }, expected: asResult(fresh(a).compose(fresh(b))) }];
});

// --- transform ----------------------------------------------------------------

differential('transform', 2000, (rng) => {
  const doc = genDoc(rng);
  const a = genChange(rng, doc);
  const b = genChange(rng, doc);
  check(fits(doc, a) && fits(doc, b), 'transform input');
  return [true, false].map((priority) => ({
    request: { fn: 'transform', a: wire(rng, a), b: wire(rng, b), priority },
    expected: asResult(fresh(a).transform(fresh(b), priority)),
  }));
});

// --- transformPosition ------------------------------------------------------

differential('transformPosition', 400, (rng) => {
  const doc = genDoc(rng);
  const a = genChange(rng, doc);
  const len = doc.length();
  // 0, the end, past the end, random, and around a's cut points
  const at = new Set([0, len, len + 1 + rng.int(5), rng.int(len + 1), rng.int(len + 1)]);
  let pos = 0;
  for (const op of a.ops) {
    if (op.insert !== undefined) continue;
    pos += op.retain ?? op.delete;
    at.add(pos);
    if (pos > 0) at.add(pos - 1);
    at.add(pos + 1);
  }
  const checks = [];
  for (const index of at) {
    for (const priority of [true, false]) {
      checks.push({
        request: { fn: 'transform_position', a: wire(rng, a), index, priority },
        expected: fresh(a).transformPosition(index, priority),
      });
    }
  }
  return checks;
});

// --- invert -------------------------------------------------------------------

// quill compares attribute values with !== here, so an object-valued
// attribute set to the value it already has inverts to that value; the core
// does the same (delta.c's strict_equal).
differential('invert', 3000, (rng) => {
  const base = genDoc(rng);
  const change = genChange(rng, base);
  check(fits(base, change), 'invert input');
  return [{
    request: { fn: 'invert', change: wire(rng, change), base: wire(rng, base) },
    expected: asResult(fresh(change).invert(fresh(base))),
  }];
});

// An inverse must undo: apply(apply(base, change), invert) == base, checked
// on our answers with quill's compose.
test('invert undoes the change', { skip }, (t) => {
  const d = new Disagreements('invert-undo');
  const cases = [];
  for (const i of indexes(1000)) {
    const rng = rngFor('invert-undo', i);
    const base = genDoc(rng);
    const change = genChange(rng, base);
    cases.push({ i, base, change });
  }
  const answers = runCli(cases.map((c) => ({ fn: 'invert', change: c.change.ops, base: c.base.ops })));
  cases.forEach((c, k) => {
    d.compared++;
    const ours = answers[k];
    const back = 'ok' in ours ? asResult(fresh(c.base).compose(c.change).compose(new Delta(ours.ok.ops))) : ours;
    if (!isDeepStrictEqual(back, asResult(c.base))) {
      d.add({ case: c.i, request: { fn: 'invert', change: c.change.ops, base: c.base.ops }, expected: asResult(c.base), ours: back, note: `our inverse: ${show(ours)}` });
    }
  });
  d.finish(t);
});

// --- length -------------------------------------------------------------------

differential('length', 3000, (rng) => {
  const doc = genDoc(rng);
  const d = rng.chance(0.5) ? doc : genChange(rng, doc);
  return [{ request: { fn: 'length', a: wire(rng, d) }, expected: d.length() }];
});

// --- apply ----------------------------------------------------------------------

differential('apply', 3000, (rng) => {
  const doc = genDoc(rng);
  const change = genChange(rng, doc);
  check(fits(doc, change), 'apply input');
  return [{ request: { fn: 'apply', doc: wire(rng, doc), change: wire(rng, change) }, expected: asResult(fresh(doc).compose(fresh(change))) }];
});

// --- to_text ----------------------------------------------------------------------

differential('to_text', 1000, (rng) => {
  const doc = genDoc(rng);
  const text = doc.ops.map((op) => (typeof op.insert === 'string' ? op.insert : '')).join('');
  return [{ request: { fn: 'to_text', a: wire(rng, doc) }, expected: text }];
});

// --- normalisation ----------------------------------------------------------------

// Zero-length inserts, empty attributes, merges and insert-after-delete are
// normalised as quill's builder does.  Zero counts ({"retain": 0}) are not:
// delta.h makes counts positive integers, so they are refused (see the
// errors test); ZERO_COUNTS=1 puts them back in to compare with the builder.
const ZERO_COUNTS = process.env.ZERO_COUNTS === '1';

differential('normalize', 3000, (rng) => {
  const raw = genRawOps(rng, { zeroCounts: ZERO_COUNTS });
  return [{
    request: { fn: 'normalize', a: rng.chance(0.5) ? clone(raw) : { ops: clone(raw) } },
    expected: asResult(builderNormalize(raw)),
  }];
});

// --- diff -------------------------------------------------------------------------

// Our diff need not equal quill's; it must turn a into b, under our compose
// and under quill's, and be canonical.  Sizes are reported, not asserted.
test('diff', { skip }, (t) => {
  const name = 'diff';
  const d = new Disagreements(name);
  const cases = [];
  for (const i of indexes(3000)) {
    const rng = rngFor(name, i);
    const a = genDoc(rng);
    let b;
    const r = rng.next();
    if (r < 0.6) b = fresh(a.compose(genChange(rng, a)));
    else if (r < 0.75) b = fresh(a.compose(genChange(rng, a, { attrsOnly: true })));
    else if (r < 0.9) b = genDoc(rng);
    else b = fresh(a);
    const theirs = fresh(a).diff(fresh(b));
    // the reference must satisfy the property itself
    assert.deepStrictEqual(asResult(fresh(a).compose(theirs)), asResult(b), `quill's own diff fails on case ${i}`);
    cases.push({ i, a, b, theirs, request: { fn: 'diff', a: wire(rng, a), b: wire(rng, b) } });
  }
  const answers = runCli(cases.map((c) => c.request));
  const composeAnswers = runCli(
    cases.map((c, k) => ({ fn: 'compose', a: c.a.ops, b: 'ok' in answers[k] ? answers[k].ok : [] })),
  );
  let oursBytes = 0, theirsBytes = 0, oursOps = 0, theirsOps = 0, larger = 0, worst = 1;
  cases.forEach((c, k) => {
    d.compared++;
    const ours = answers[k];
    const fail = (note, got) => d.add({ case: c.i, request: c.request, expected: asResult(c.theirs), ours: got ?? ours, note });
    if (!('ok' in ours)) return fail('diff failed');
    const dd = new Delta(clone(ours.ok.ops));
    const canonical = builderNormalize(ours.ok.ops).chop();
    if (!isDeepStrictEqual(asResult(canonical), ours.ok)) return fail('our diff is not canonical');
    const viaQuill = asResult(fresh(c.a).compose(dd));
    if (!isDeepStrictEqual(viaQuill, asResult(c.b))) return fail(`quill: compose(a, our diff) = ${show(viaQuill)} != b = ${show(asResult(c.b))}`);
    const viaOurs = composeAnswers[k];
    if (!isDeepStrictEqual(viaOurs.ok, asResult(c.b))) return fail(`ours: compose(a, our diff) = ${show(viaOurs)} != b = ${show(asResult(c.b))}`);
    const ob = JSON.stringify(ours.ok.ops).length;
    const tb = JSON.stringify(c.theirs.ops).length;
    oursBytes += ob;
    theirsBytes += tb;
    oursOps += ours.ok.ops.length;
    theirsOps += c.theirs.ops.length;
    if (ob > tb) larger++;
    worst = Math.max(worst, ob / Math.max(tb, 1));
  });
  t.diagnostic(
    `diff size, ours/quill: ${(oursBytes / Math.max(theirsBytes, 1)).toFixed(3)} in JSON bytes ` +
      `(${oursBytes}/${theirsBytes}), ${(oursOps / Math.max(theirsOps, 1)).toFixed(3)} in ops (${oursOps}/${theirsOps}); ` +
      `ours larger in ${larger} of ${cases.length} cases, worst ratio ${worst.toFixed(2)}`,
  );
  d.finish(t);
});

// --- errors -------------------------------------------------------------------------

// Inputs quill-delta would silently accept and the core must refuse.
const A = [{ insert: 'ab😀cd\n' }]; // the pair is units 2-3
const malformed = [
  ['unknown key', [{ insert: 'a', foo: 1 }]],
  ['unknown key on a retain', [{ retain: 1, bold: true }]],
  ['negative retain', [{ retain: -1 }]],
  ['negative delete', [{ delete: -3 }]],
  ['fractional retain', [{ retain: 1.5 }]],
  ['retain as a string', [{ retain: '1' }]],
  ['retain of an embed (unsupported)', [{ retain: { image: 'x' } }]],
  ['zero retain (counts are positive)', [{ retain: 0 }]],
  ['zero delete (counts are positive)', [{ insert: 'a' }, { delete: 0 }]],
  ['count past 2^31-1', [{ retain: 2147483648 }], ['ELIMIT']],
  ['delete far past 2^31-1 (written 1e+300)', [{ delete: 1e300 }], ['ELIMIT']],
  ['delete with attributes', [{ delete: 1, attributes: { bold: true } }]],
  ['delta object with another key', { ops: [], x: 1 }],
  ['two kinds', [{ insert: 'a', retain: 1 }]],
  ['insert and delete', [{ insert: 'a', delete: 1 }]],
  ['no kind', [{}]],
  ['only attributes', [{ attributes: { bold: true } }]],
  ['insert a number', [{ insert: 5 }]],
  ['insert null', [{ insert: null }]],
  ['insert an array', [{ insert: ['a'] }]],
  ['insert true', [{ insert: true }]],
  ['attributes an array', [{ insert: 'a', attributes: ['bold'] }]],
  ['attributes a string', [{ insert: 'a', attributes: 'bold' }]],
  ['attributes null (quill treats it as absent)', [{ insert: 'a', attributes: null }]],
  ['op not an object', [1]],
  ['op an array', [[{ insert: 'a' }]]],
  ['ops not an array', { ops: 5 }],
  ['ops missing', { op: [] }],
  ['delta a string', 'abc'],
  ['delta a number', 7],
];

test('errors', { skip }, (t) => {
  const checks = [];
  const add = (what, request, status) => checks.push({ what, request, statuses: [status].flat() });

  for (const [what, bad, statuses = ['EINVAL']] of malformed) {
    add(`${what} (compose a)`, { fn: 'compose', a: bad, b: [{ retain: 1 }] }, statuses);
    add(`${what} (compose b)`, { fn: 'compose', a: [{ insert: 'a' }], b: bad }, statuses);
    add(`${what} (transform)`, { fn: 'transform', a: bad, b: [], priority: true }, statuses);
    add(`${what} (apply change)`, { fn: 'apply', doc: A, change: bad }, statuses);
    add(`${what} (invert)`, { fn: 'invert', change: bad, base: A }, statuses);
    add(`${what} (normalize)`, { fn: 'normalize', a: bad }, statuses);
    add(`${what} (length)`, { fn: 'length', a: bad }, statuses);
  }
  // Malformed JSON text and lone surrogates never reach the delta code.
  for (const [what, line] of [
    ['truncated JSON', '{"fn":"normalize","a":[{"insert":"a"}'],
    ['trailing garbage', '{"fn":"normalize","a":[]} x'],
    ['lone high surrogate', '{"fn":"normalize","a":[{"insert":"a\\ud83d"}]}'],
    ['lone low surrogate', '{"fn":"normalize","a":[{"insert":"\\ude00b"}]}'],
    ['reversed pair', '{"fn":"normalize","a":[{"insert":"\\ude00\\ud83d"}]}'],
    ['lone surrogate in a key', '{"fn":"normalize","a":[{"insert":"a","attributes":{"\\ud800":1}}]}'],
    // docs/core.md: a count is read as JavaScript reads it (1e3 and 1.0 are
    // fine), but its value must be a positive integer
    ['count -0', '{"fn":"normalize","a":[{"retain":-0}]}'],
    ['count 1e-3', '{"fn":"normalize","a":[{"retain":1e-3}]}'],
    ['raw control character in a string', '{"fn":"normalize","a":[{"insert":"a\u0001b"}]}'],
    ['invalid UTF-8 (a lone continuation byte)', Buffer.from('{"fn":"normalize","a":[{"insert":"a\x80b"}]}', 'latin1')],
    ['invalid UTF-8 (an encoded surrogate)', Buffer.from('{"fn":"normalize","a":[{"insert":"\xed\xa0\x80"}]}', 'latin1')],
    ['invalid UTF-8 (overlong)', Buffer.from('{"fn":"normalize","a":[{"insert":"\xc0\xaf"}]}', 'latin1')],
  ]) {
    add(what, { raw: line }, 'EINVAL');
  }
  // Nesting past JSON_DEPTH_MAX.
  let deep = 1;
  for (let k = 0; k < 300; k++) deep = [deep];
  add('attributes nested 300 deep', { fn: 'normalize', a: [{ insert: 'a', attributes: { x: deep } }] }, 'ELIMIT');

  // Changes that do not fit their documents.
  const mismatch = [
    ['retain into a pair, then insert', [{ retain: 3 }, { insert: 'x' }]],
    ['retain into a pair, then delete', [{ retain: 3 }, { delete: 1 }]],
    ['format half a pair', [{ retain: 2 }, { retain: 1, attributes: { bold: true } }]],
    ['delete half a pair', [{ retain: 2 }, { delete: 1 }, { insert: 'x' }]],
    ['delete into a pair', [{ delete: 3 }, { insert: 'x' }]],
    ['delete past the end', [{ retain: 7 }, { delete: 1 }]],
    ['delete everything and more', [{ delete: 8 }]],
    ['format past the end', [{ retain: 8, attributes: { bold: true } }]],
    // stricter than quill, which would ignore a final plain retain
    ['plain retain past the end', [{ retain: 8 }]],
    ['plain retain ending inside a pair', [{ retain: 3 }]],
  ];
  for (const [what, change] of mismatch) {
    add(`${what} (apply)`, { fn: 'apply', doc: A, change }, 'EMISMATCH');
    add(`${what} (invert)`, { fn: 'invert', change, base: A }, 'EMISMATCH');
  }
  add('compose cutting an inserted pair', { fn: 'compose', a: A, b: [{ retain: 3 }, { delete: 1 }] }, 'EMISMATCH');
  add('compose formatting half an inserted pair', { fn: 'compose', a: A, b: [{ retain: 3 }, { retain: 1, attributes: { bold: true } }] }, 'EMISMATCH');
  add('apply to a document with a retain', { fn: 'apply', doc: [{ insert: 'a' }, { retain: 1 }], change: [] }, 'EMISMATCH');
  add('apply to a document with a delete', { fn: 'apply', doc: [{ delete: 1 }], change: [] }, 'EMISMATCH');
  add('diff from a non-document', { fn: 'diff', a: [{ retain: 1 }], b: [{ insert: 'a' }] }, 'EMISMATCH');
  add('diff to a non-document', { fn: 'diff', a: [{ insert: 'a' }], b: [{ insert: 'a' }, { delete: 1 }] }, 'EMISMATCH');
  add('invert on a non-document', { fn: 'invert', change: [{ retain: 1, attributes: { bold: true } }], base: [{ retain: 1 }] }, 'EMISMATCH');

  // Random documents with pairs; a change cutting one of them.
  for (const i of indexes(500)) {
    const rng = rngFor('errors', i);
    let doc = genDoc(rng);
    if (splitPositions(doc).length === 0) doc = fresh(new Delta(clone(doc.ops)).insert(genText(rng) + '😀'));
    const cut = rng.pick(splitPositions(doc));
    // cut, then something that makes the cut matter; the first op may
    // delete up to the cut (unless a delete follows, which would merge)
    const r = rng.next();
    const then = r < 0.33 ? { insert: genText(rng) } : r < 0.66 ? { delete: 1 } : { retain: 1, attributes: { bold: true } };
    const first = then.delete === undefined && rng.chance(0.5) ? { delete: cut } : { retain: cut };
    const changeOps = [first, then];
    add(`random pair cut at ${cut} (apply, case ${i})`, { fn: 'apply', doc: doc.ops, change: changeOps }, 'EMISMATCH');
    add(`random pair cut at ${cut} (invert, case ${i})`, { fn: 'invert', change: changeOps, base: doc.ops }, 'EMISMATCH');
    const tooLong = new Delta().retain(doc.length()).delete(1 + rng.int(3));
    add(`random change past the end (apply, case ${i})`, { fn: 'apply', doc: doc.ops, change: tooLong.ops }, 'EMISMATCH');
    add(`random change past the end (invert, case ${i})`, { fn: 'invert', change: tooLong.ops, base: doc.ops }, 'EMISMATCH');
  }

  // Raw lines are sent as they are; everything else as JSON.
  const answers = runLines(checks.map((c) => (c.request.raw !== undefined ? c.request.raw : JSON.stringify(c.request))));
  const wrong = [];
  checks.forEach((c, k) => {
    const a = answers[k];
    if (!a.error || !c.statuses.includes(a.error.status) || typeof a.error.message !== 'string' || a.error.message === '') {
      wrong.push(`${c.what}: expected ${c.statuses.join(' or ')}, got ${show(a)}\n    request: ${show(c.request).slice(0, 300)}`);
    }
  });
  t.diagnostic(`errors: ${checks.length} invalid requests, ${wrong.length} not refused as expected`);
  assert.equal(wrong.length, 0, `${wrong.length} invalid requests were not refused as expected:\n  ${wrong.slice(0, 15).join('\n  ')}`);
});

// --- the harness can fail -------------------------------------------------------------

test('the comparison catches a wrong answer', { skip }, () => {
  const checks = [];
  for (let i = 0; i < 20; i++) {
    const rng = rngFor('selftest', i);
    const doc = genDoc(rng);
    const a = genChange(rng, doc);
    const b = genChange(rng, fresh(doc.compose(a)));
    const right = asResult(fresh(a).compose(fresh(b)));
    const wrong = { ops: [...right.ops, { insert: 'Z' }] };
    checks.push({ case: i, request: { fn: 'compose', a: a.ops, b: b.ops }, expected: wrong });
  }
  const d = compareAll('selftest', checks);
  assert.equal(d.list.length, 20, 'a wrong expectation went unnoticed');
});
