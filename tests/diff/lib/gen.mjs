// gen.mjs — seeded random documents and changes for the differential tests.
//
// Everything here is deterministic in the seed: makeRng(seed) gives the same
// stream on every machine, so a failing case is replayed from its seed alone.
// Lengths and positions count UTF-16 code units, as quill-delta does; every
// change is generated VALID against its document: its retains and deletes
// end on code point boundaries (never inside a surrogate pair) and never
// reach past the document's end.  Deltas are built through quill-delta's
// builder (insert/retain/delete), so they are canonical, and handed out as
// fresh JSON (no object shared between two deltas: quill's invert compares
// attribute values with !==).
import Delta from 'quill-delta';

// --- PRNG: xmur3 string hash seeding sfc32 ---------------------------------

function xmur3(str) {
  let h = 1779033703 ^ str.length;
  for (let i = 0; i < str.length; i++) {
    h = Math.imul(h ^ str.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  return () => {
    h = Math.imul(h ^ (h >>> 16), 2246822507);
    h = Math.imul(h ^ (h >>> 13), 3266489909);
    return (h ^= h >>> 16) >>> 0;
  };
}

export function makeRng(seed) {
  const hash = xmur3(String(seed));
  let a = hash(), b = hash(), c = hash(), d = hash();
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  const rng = {
    next,
    int: (n) => Math.floor(next() * n),                 // 0 .. n-1
    range: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)), // inclusive
    chance: (p) => next() < p,
    pick: (arr) => arr[Math.floor(next() * arr.length)],
  };
  return rng;
}

// --- building blocks --------------------------------------------------------

export const clone = (x) => (x === undefined ? undefined : JSON.parse(JSON.stringify(x)));

// Code point sequences ("atoms").  Multi-code-point atoms (e + combining
// acute, skin tones, flags, ZWJ sequences) may be cut between their code
// points: that is a valid boundary for JavaScript and for the core.
const COMMON = ['a', 'b', 'c', 'x', 'y', 'z', ' ', ' ', '.', '\n', '\n'];
const RARE = [
  'é', 'e\u0301', 'ñ', 'ß', 'Ω', '中', '文', '字', '한', 'ア',
  '😀', '👍🏽', '🇫🇷', '🇯🇵', '👨‍👩‍👧', '𝔸', '🎉',
  '"', '\\', '\t', '\r', '/', '<', '\u0000', '\u0001', '\u007f',
  '\u2028', '\u00a0', '\ufeff', '\uffff',
];

export function genText(rng, maxAtoms = 8) {
  const n = rng.range(1, maxAtoms);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.chance(0.7) ? rng.pick(COMMON) : rng.pick(RARE);
  return s;
}

// Attribute pools are small so equal attributes (merges, no-op changes)
// happen often.  mention and link-as-object are object-valued.
const ATTRS = {
  bold: [true],
  italic: [true, false],
  color: ['#ff0000', '#00f', 'red'],
  link: ['https://example.com/', 'https://example.org/?q=é', { href: 'https://x.test/', target: '_blank' }],
  header: [1, 2, 3],
  size: [1.5, 12, -2, 1e21],
  mention: [{ id: 1, name: 'ann' }, { id: 2, name: 'bo', tags: ['x', null] }],
  font: ['serif', 'моно'],
  align: ['center'],
};
const ATTR_KEYS = Object.keys(ATTRS);

// Random attributes, or undefined.  nullP: chance that a value is null (a
// removal, meaningful in retains).
export function genAttrs(rng, { p = 0.5, nullP = 0, max = 3 } = {}) {
  if (!rng.chance(p)) return undefined;
  const n = rng.range(1, max);
  const attrs = {};
  for (let i = 0; i < n; i++) {
    const key = rng.pick(ATTR_KEYS);
    attrs[key] = rng.chance(nullP) ? null : clone(rng.pick(ATTRS[key]));
  }
  return attrs;
}

const EMBEDS = [
  { image: 'a.png' },
  { image: 'b.png' },
  { formula: 'e=mc^2' },
  { video: 'https://v.test/😀.mp4' },
  { widget: { a: 1, list: [1, 'x', null, { b: true }] } },
];

export const genEmbed = (rng) => clone(rng.pick(EMBEDS));

// A document: inserts only.
export function genDoc(rng, { maxRuns = 6 } = {}) {
  const d = new Delta();
  if (rng.chance(0.05)) return d;
  const runs = rng.chance(0.1) ? rng.range(8, 20) : rng.range(1, maxRuns);
  for (let i = 0; i < runs; i++) {
    if (rng.chance(0.15)) d.insert(genEmbed(rng), genAttrs(rng, { p: 0.3 }));
    else d.insert(genText(rng, rng.chance(0.1) ? 40 : 8), genAttrs(rng, { p: 0.5 }));
  }
  if (rng.chance(0.5)) d.insert('\n', genAttrs(rng, { p: 0.3 }));
  return fresh(d);
}

// A new Delta with no object shared with d.
export const fresh = (d) => new Delta(clone(d.ops));

// The positions (UTF-16 units) where a change may cut document doc: 0, the
// end, and every code point boundary inside its text.
export function boundaries(doc) {
  const out = [0];
  let pos = 0;
  for (const op of doc.ops) {
    if (typeof op.insert !== 'string') {
      pos += 1;
      out.push(pos);
      continue;
    }
    for (const cp of op.insert) {
      pos += cp.length;
      out.push(pos);
    }
  }
  return out;
}

// How many boundaries to advance: mostly a few, sometimes a long stretch.
function span(rng, left) {
  if (left <= 0) return 0;
  const want = rng.chance(0.15) ? rng.range(1, left) : rng.range(1, 5);
  return Math.min(want, left);
}

// Attributes for a retain starting at pos of doc: random ones (some null,
// i.e. removals) or, at times, a fresh copy of some the document already has
// there (formatting with the current value: a no-op quill's invert sees
// through !==).
function retainAttrs(rng, doc, pos, attrsOnly) {
  if (rng.chance(0.2)) {
    const here = doc.slice(pos, pos + 1).ops[0]?.attributes;
    if (here) {
      const keys = Object.keys(here).filter(() => rng.chance(0.7));
      if (keys.length > 0) {
        const attrs = Object.fromEntries(keys.map((k) => [k, clone(here[k])]));
        const more = genAttrs(rng, { p: 0.3, nullP: 0.3, max: 1 });
        return { ...more, ...attrs };
      }
    }
  }
  return genAttrs(rng, { p: attrsOnly ? 0.8 : 0.5, nullP: 0.3 });
}

// A change valid against doc.  kinds restricts what it does.
export function genChange(rng, doc, { inserts = true, deletes = true, attrsOnly = false } = {}) {
  const B = boundaries(doc);
  const d = new Delta();
  let bi = 0;
  const steps = rng.range(1, 7);
  for (let s = 0; s < steps; s++) {
    const r = rng.next();
    const left = B.length - 1 - bi;
    if (inserts && !attrsOnly && (r < 0.3 || left === 0)) {
      if (rng.chance(0.15)) d.insert(genEmbed(rng), genAttrs(rng, { p: 0.3 }));
      else d.insert(genText(rng), genAttrs(rng, { p: 0.4 }));
      continue;
    }
    if (left === 0) break;
    const k = span(rng, left);
    const len = B[bi + k] - B[bi];
    bi += k;
    if (attrsOnly || r < 0.7 || !deletes) d.retain(len, retainAttrs(rng, doc, B[bi - k], attrsOnly));
    else d.delete(len);
  }
  // Sometimes finish the document explicitly.
  if (bi < B.length - 1 && rng.chance(0.15)) {
    const len = B[B.length - 1] - B[bi];
    if (deletes && !attrsOnly && rng.chance(0.5)) d.delete(len);
    else d.retain(len, genAttrs(rng, { p: 0.5, nullP: 0.3 }));
  }
  return fresh(d);
}

// --- validity, for checking the generator itself ---------------------------

// Length of the document a change applies to.
export function baseLength(d) {
  let n = 0;
  for (const op of d.ops) {
    if (typeof op.retain === 'number') n += op.retain;
    else if (typeof op.delete === 'number') n += op.delete;
  }
  return n;
}

// True when every cut change makes in doc is on a code point boundary and
// the change does not reach past the end.
export function fits(doc, change) {
  const ok = new Set(boundaries(doc));
  const len = doc.length();
  let pos = 0;
  for (const op of change.ops) {
    if (op.insert !== undefined) continue;
    pos += op.retain ?? op.delete;
    if (pos > len || !ok.has(pos)) return false;
  }
  return true;
}

// Positions where a change could cut a surrogate pair of doc.
export function splitPositions(doc) {
  const ok = new Set(boundaries(doc));
  const out = [];
  for (let p = 1; p < doc.length(); p++) if (!ok.has(p)) out.push(p);
  return out;
}

// --- non-normalised op lists -----------------------------------------------

// A random op list quill's builder would rewrite: zero-length ops, empty
// attribute objects, neighbours that merge, inserts after deletes.
export function genRawOps(rng, { zeroCounts = false } = {}) {
  const ops = [];
  const n = rng.range(1, 9);
  for (let i = 0; i < n; i++) {
    const prev = ops[ops.length - 1];
    if (prev && rng.chance(0.3)) {
      // a neighbour of the same kind, same attributes
      const op = clone(prev);
      if (typeof op.insert === 'string') op.insert = genText(rng, 3);
      else if (op.insert !== undefined) op.insert = genEmbed(rng);
      else if (op.retain !== undefined) op.retain = rng.range(1, 5);
      else op.delete = rng.range(1, 5);
      ops.push(op);
      continue;
    }
    const r = rng.next();
    let op;
    if (r < 0.45) {
      op = { insert: rng.chance(0.12) ? '' : genText(rng, 4) };
    } else if (r < 0.55) {
      op = { insert: genEmbed(rng) };
    } else if (r < 0.8) {
      op = { retain: zeroCounts && rng.chance(0.1) ? 0 : rng.range(1, 9) };
    } else {
      op = { delete: zeroCounts && rng.chance(0.1) ? 0 : rng.range(1, 9) };
    }
    if (op.delete === undefined) {
      const a = rng.next();
      if (a < 0.15) op.attributes = {};
      else if (a < 0.55) {
        const nullP = op.retain !== undefined ? 0.3 : 0.05;
        op.attributes = genAttrs(rng, { p: 1, nullP });
      }
    }
    ops.push(op);
  }
  return ops;
}

// quill-delta's builder applied to a raw op list: the reference for
// normalisation.
export function builderNormalize(ops) {
  const d = new Delta();
  for (const op of clone(ops)) {
    if (op.insert !== undefined) d.insert(op.insert, op.attributes);
    else if (op.retain !== undefined) d.retain(op.retain, op.attributes);
    else if (op.delete !== undefined) d.delete(op.delete);
  }
  return d;
}
