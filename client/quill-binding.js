// quill-binding.js — connects a Quill 2 editor to a CollabClient.
//
// The user's edits (source 'user') go to the client; the client's remote
// changes are applied with source 'api', the local selection carried past
// them; a snapshot replaces the contents. Other people's cursors are drawn
// with quill-cursors (optional), their names and colours taken from their
// presence state {index, length, name, color}. Our own selection is sent as
// presence with the name and colour given.
//
// Quill keeps a final "\n" in every document, and so does collab
// (create_document starts from {"ops":[{"insert":"\n"}]}, and submit keeps it
// last), so Quill's first edit of an empty document fits the server's.

export function bindQuill(quill, client, { cursors = null, name = 'anonymous', color = '#1a73e8' } = {}) {
  let me = { name, color };
  quill.disable(); // until the snapshot

  const offSnapshot = client.on('snapshot', (doc) => {
    const range = quill.getSelection();
    quill.setContents(doc, 'api');
    quill.enable();
    if (range) quill.setSelection(Math.min(range.index, quill.getLength() - 1), 0, 'silent');
    if (cursors) cursors.clearCursors();
  });

  const offChange = client.on('change', (change) => {
    const range = quill.getSelection();
    quill.updateContents(change, 'api');
    if (range) {
      // our cursor stays before text inserted at it by others
      const start = change.transformPosition(range.index, true);
      const end = change.transformPosition(range.index + range.length, true);
      quill.setSelection(start, end - start, 'silent');
    }
    redrawCursors();
  });

  const onText = (delta, _old, source) => {
    if (source !== 'user') return;
    client.submit(delta);
    redrawCursors();
    sendPresence(quill.getSelection());
  };
  quill.on('text-change', onText);

  const sendPresence = (range) => {
    if (!range) return;
    client.setPresence({ index: range.index, length: range.length, name: me.name, color: me.color });
  };
  const onSelection = (range, _old, source) => {
    if (source === 'silent') return;
    sendPresence(range);
  };
  quill.on('selection-change', onSelection);

  function redrawCursors() {
    if (!cursors) return;
    for (const [id, state] of client.presences) {
      cursors.createCursor(id, state.name || id.slice(0, 6), state.color || '#888');
      cursors.moveCursor(id, { index: state.index, length: state.length || 0 });
    }
  }

  const offPresence = client.on('presence', ({ client: id, state }) => {
    if (!cursors) return;
    if (!state || typeof state.index !== 'number') {
      cursors.removeCursor(id);
      return;
    }
    cursors.createCursor(id, state.name || id.slice(0, 6), state.color || '#888');
    cursors.moveCursor(id, { index: state.index, length: state.length || 0 });
  });

  return {
    // changes the name and colour others see
    setIdentity(identity) {
      me = { ...me, ...identity };
      sendPresence(quill.getSelection());
    },
    unbind() {
      offSnapshot();
      offChange();
      offPresence();
      quill.off('text-change', onText);
      quill.off('selection-change', onSelection);
    },
  };
}
