// demo.js — the demo page: one document (?doc=name), Quill bound to a
// CollabClient, a connection/sync indicator, the revision, a history slider
// (the document at an earlier revision, read-only, through fetch) and an
// HTML export (collab.to_html through fetch). Quill is the global of its
// UMD build, loaded by index.html; other people's cursors are cursors.js.
//
// Signed in by its cookie: tools/run's notifier serves /dev-login
// (docs/auth.md), which set it before this page loaded; renewCookie below
// renews it ahead of the token's exp by POSTing there again.
//
// Formats: the editor takes exactly what the database takes by default
// (collab.allowed_embeds "image, formula" and collab.allowed_attributes,
// extension/formats.h): every document the database holds renders
// whole, and nothing else gets in (a pasted <iframe>: Quill's video embed,
// registered by its standard build, is not among them). The toolbar offers
// a few of them.
import { CollabClient } from './collab-client.js';
import { Cursors } from './cursors.js';
import { bindQuill } from './quill-binding.js';

const params = new URLSearchParams(location.search);
const docId = params.get('doc') || 'welcome';
const $ = (id) => document.getElementById(id);

// a name and colour per tab, kept across reloads of the tab
const stored = (key, make) => sessionStorage.getItem(key) || (sessionStorage.setItem(key, make()), sessionStorage.getItem(key));
const animals = ['Otter', 'Heron', 'Lynx', 'Marten', 'Wren', 'Ibex', 'Puffin', 'Gecko'];
const name = stored('collab-name', () => `${animals[Math.floor(Math.random() * animals.length)]} ${Math.floor(Math.random() * 90 + 10)}`);
const color = stored('collab-color', () => `hsl(${Math.floor(Math.random() * 360)}, 70%, 45%)`);

const FORMATS = [
  // collab.allowed_attributes' default (alt, height and width are the image's own)
  'align', 'background', 'blockquote', 'bold', 'code', 'code-block', 'color', 'direction', 'font', 'header',
  'indent', 'italic', 'link', 'list', 'script', 'size', 'strike', 'underline',
  // collab.allowed_embeds' default; no video
  'image', 'formula',
];
const TOOLBAR = [[{ header: ['1', '2', '3', false] }], ['bold', 'italic', 'underline', 'link'], [{ list: 'ordered' }, { list: 'bullet' }], ['clean']];

// Quill's formula embed renders with KaTeX, which the demo does not load, and
// throws without it: show a formula's TeX as text instead, one character
// long as any embed, so that documents holding one stay in step.
const Embed = Quill.import('blots/embed');
class TexFormula extends Embed {
  static blotName = 'formula';
  static className = 'ql-formula';
  static tagName = 'SPAN';
  static create(value) {
    const node = super.create(value);
    node.setAttribute('data-value', String(value));
    node.textContent = String(value);
    return node;
  }
  static value(node) {
    return node.getAttribute('data-value');
  }
}
if (!window.katex) Quill.register('formats/formula', TexFormula, true);

Quill.register('modules/cursors', Cursors);
const quill = new Quill('#editor', {
  theme: 'snow',
  formats: FORMATS,
  modules: { toolbar: TOOLBAR, cursors: {}, history: { userOnly: true } }, // the client moves cursors
  placeholder: 'Type here…',
});
const past = new Quill('#past', { readOnly: true, formats: FORMATS, modules: { toolbar: false } });

const client = new CollabClient({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
  doc: docId,
  Delta: Quill.import('delta'),
  WebSocket,
  // no clientId: a fresh one per page load. A tab that kept its id across
  // reloads would count its seq from 1 again, and the server would take
  // those new changes for resubmits of the old ones and drop them.
  renewCookie,
});

// The cookie's token is renewed by the development login for the same
// guest (a new guest when it has already expired); the client then
// reconnects with it. A real application renews its own session cookie.
async function renewCookie() {
  const r = await fetch('/dev-login', { method: 'POST', credentials: 'same-origin', cache: 'no-store' });
  if (!r.ok) throw new Error(`POST /dev-login: ${r.status}`);
  const { user, renewed } = await r.json();
  if (!renewed) console.warn(`collab: signed in again as a new guest, ${user}`);
}
const binding = bindQuill(quill, client, { cursors: quill.getModule('cursors'), name, color });

$('doc-name').textContent = docId;
$('name').value = name;
$('color').value = toHex(color);
$('name').addEventListener('change', () => binding.setIdentity({ name: $('name').value }));
$('color').addEventListener('change', () => binding.setIdentity({ color: $('color').value }));

function showStatus() {
  let state = client.connection === 'open' ? (client.synced ? 'synced' : 'pending') : client.connection === 'connecting' ? 'connecting' : 'offline';
  if (client.connection === 'open' && client.rev < 0) state = 'connecting';
  $('status').dataset.state = state;
  $('status-text').textContent = state;
}
client.on('connection', showStatus);
client.on('sync', showStatus);
client.on('rev', (rev) => {
  $('rev').textContent = rev;
  const slider = $('slider');
  const live = slider.value === slider.max;
  slider.max = rev;
  if (live) slider.value = rev;
  $('slider-rev').textContent = `rev ${slider.value}`;
  showStatus();
});
client.on('error', (e) => console.warn('collab:', e.code, e.message));
client.on('authenticated', ({ user }) => ($('user').textContent = user));
client.on('snapshot', (_doc, { replaced, dropped }) => {
  if (replaced && dropped) console.warn('collab: the server could not take these edits; the document was reloaded:', JSON.stringify(dropped.ops));
});
// back online: no need to wait for the backoff
window.addEventListener('online', () => client.reconnectNow());

// history: the slider picks a revision; the past is shown read-only
$('slider').addEventListener('input', async () => {
  const slider = $('slider');
  const rev = Number(slider.value);
  $('slider-rev').textContent = `rev ${rev}`;
  if (rev === Number(slider.max)) return backToLive();
  try {
    const { content } = await client.fetch(rev);
    past.setContents(content, 'api');
    $('past').hidden = false;
    $('back').hidden = false;
  } catch (e) {
    console.warn('history:', e.message);
  }
});
function backToLive() {
  $('slider').value = $('slider').max;
  $('slider-rev').textContent = `rev ${$('slider').max}`;
  $('past').hidden = true;
  $('back').hidden = true;
}
$('back').addEventListener('click', backToLive);

// export: the server's HTML of the head (collab.to_html), as a download
$('export').addEventListener('click', async () => {
  try {
    const { html, rev } = await client.fetch();
    const page = `<!doctype html><meta charset="utf-8"><title>${escapeHtml(docId)} (revision ${rev})</title>\n${html}\n`;
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([page], { type: 'text/html' }));
    a.download = `${docId}-r${rev}.html`;
    a.click();
    URL.revokeObjectURL(a.href);
  } catch (e) {
    console.warn('export:', e.message);
  }
});

function escapeHtml(s) {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
function toHex(css) {
  const probe = document.createElement('canvas').getContext('2d');
  probe.fillStyle = css;
  return probe.fillStyle.startsWith('#') ? probe.fillStyle : '#1a73e8';
}

client.start();
showStatus();
// for the end-to-end tests and the curious
window.collab = { client, quill };
