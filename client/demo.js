// demo.js — the demo page: one document (?doc=name), Quill bound to a
// CollabClient, a connection/sync indicator, the revision, a history slider
// (the document at an earlier revision, read-only, through fetch) and an
// HTML export (collab.to_html through fetch). Quill is the global of its
// UMD build, loaded by index.html; other people's cursors are cursors.js.
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

Quill.register('modules/cursors', Cursors);
const quill = new Quill('#editor', {
  theme: 'snow',
  modules: { cursors: {}, history: { userOnly: true } }, // the client moves cursors
  placeholder: 'Type here…',
});
const past = new Quill('#past', { readOnly: true, modules: { toolbar: false } });

const client = new CollabClient({
  url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`,
  doc: docId,
  Delta: Quill.import('delta'),
  WebSocket,
  // no clientId: a fresh one per page load. A tab that kept its id across
  // reloads would count its seq from 1 again, and the server would take
  // those new changes for resubmits of the old ones and drop them.
});
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
