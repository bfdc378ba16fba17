// quill-binding.js — connects a Quill 2 editor to a CollabClient.
//
// The user's edits (source 'user') go to the client; the client's remote
// changes are applied with source 'api', the local selection carried past
// them; a snapshot replaces the contents. Other people's cursors are drawn
// with a cursors module (optional; the demo's is cursors.js, with
// quill-cursors' calls), their names and colours taken from their
// presence state {index, length, name, color}. Our own selection is sent as
// presence with the name and colour given.
//
// Ordering: Quill's document must always equal the client's. Before the
// client takes in a remote change ('beforechange'), the binding has Quill
// turn any DOM edit it has not yet reported into its 'user' text-change, so
// that edit reaches the client against the document it was made on. While
// the client resynchronises ('resync' until 'snapshot') the editor is
// read-only: the snapshot replaces what it shows.
//
// Quill keeps a final "\n" in every document, and so does collab
// (create_document starts from {"ops":[{"insert":"\n"}]}, and submit keeps it
// last), so Quill's first edit of an empty document fits the server's.

export function bindQuill(quill, client, { cursors = null, name = 'anonymous', color = '#1a73e8', holdMs = 10000 } = {}) {
  let me = { name, color };
  quill.disable(); // until the snapshot

  const offs = [];
  offs.push(
    client.on('snapshot', (doc) => {
      const range = quill.getSelection();
      quill.setContents(doc, 'api');
      quill.enable();
      if (range) quill.setSelection(Math.min(range.index, quill.getLength() - 1), 0, 'silent');
      if (cursors) cursors.clearCursors();
      redrawCursors();
    }),
  );

  offs.push(client.on('resync', () => quill.disable()));

  // an edit still only in the DOM (e.g. during IME composition) is reported
  // now, before the remote change moves the ground under it
  offs.push(client.on('beforechange', () => quill.update('user')));

  offs.push(
    client.on('change', (change) => {
      const range = quill.getSelection();
      quill.updateContents(change, 'api');
      if (range) {
        // our cursor stays before text inserted at it by others
        const start = change.transformPosition(range.index, true);
        const end = change.transformPosition(range.index + range.length, true);
        quill.setSelection(start, end - start, 'silent');
      }
      redrawCursors();
    }),
  );

  // An IME composition (CJK input, and every word typed on Android) lives
  // in the DOM until it ends; a remote change rendered under it breaks it
  // and leaves Quill's document apart from the client's. So the client's
  // stream waits from the composition's start until Quill has reported its
  // text, and at most holdMs.
  let holdTimer = null;
  const release = () => {
    clearTimeout(holdTimer);
    holdTimer = null;
    client.release();
  };
  const onCompositionStart = () => {
    client.hold();
    clearTimeout(holdTimer);
    holdTimer = setTimeout(release, holdMs);
  };
  const onCompositionEnd = () => queueMicrotask(release); // after Quill's own end
  quill.on('composition-before-start', onCompositionStart);
  quill.on('composition-end', onCompositionEnd);

  const onText = (delta, _old, source) => {
    if (source !== 'user') return;
    client.submit(delta);
    redrawCursors();
    sendPresence(quill.getSelection());
    // and where the edit left us: typing over a selection reaches Quill as
    // a delete, then an insert, and Quill may report the text before it
    // moves the selection past it (silently). quill-cursors used to say it
    // again after every change; the binding must not depend on that.
    setTimeout(() => {
      const range = quill.getSelection();
      if (range) sendPresence(range);
    }, 0);
  };
  quill.on('text-change', onText);

  // our name and colour, and where we are: the selection given, else the
  // last one (which the client keeps moving through changes), else none
  const sendPresence = (range) => {
    const state = { name: me.name, color: me.color };
    const last = client.me;
    if (range) Object.assign(state, { index: range.index, length: range.length });
    else if (last && typeof last.index === 'number') Object.assign(state, { index: last.index, length: last.length });
    client.setPresence(state);
  };
  // announced from the start, so that others learn of us (and answer with
  // where they are) even before we click into the editor
  sendPresence(null);
  const onSelection = (range, _old, source) => {
    if (source === 'silent' || !range) return; // a blur keeps our place
    sendPresence(range);
  };
  quill.on('selection-change', onSelection);

  function drawCursor(id, state) {
    cursors.createCursor(id, typeof state.name === 'string' ? state.name.slice(0, 40) : id.slice(0, 6), typeof state.color === 'string' ? state.color : '#888');
    const max = Math.max(0, quill.getLength() - 1);
    const index = Math.min(Math.max(0, state.index), max);
    cursors.moveCursor(id, { index, length: Math.min(Math.max(0, state.length || 0), max - index) });
  }

  function redrawCursors() {
    if (!cursors) return;
    for (const [id, state] of client.presences) if (typeof state.index === 'number') drawCursor(id, state);
  }

  offs.push(
    client.on('presence', ({ client: id, state }) => {
      if (!cursors) return;
      if (!state || typeof state.index !== 'number') cursors.removeCursor(id);
      else drawCursor(id, state);
    }),
  );

  return {
    // changes the name and colour others see
    setIdentity(identity) {
      me = { ...me, ...identity };
      sendPresence(quill.getSelection());
    },
    unbind() {
      for (const off of offs) off();
      quill.off('text-change', onText);
      quill.off('composition-before-start', onCompositionStart);
      quill.off('composition-end', onCompositionEnd);
      if (holdTimer !== null) release();
      quill.off('selection-change', onSelection);
    },
  };
}
