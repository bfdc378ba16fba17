// cursors.js — other people's cursors in a Quill editor: a caret, a name
// flag and their selection, each person in their colour. A Quill module
// (Quill.register('modules/cursors', Cursors)) with the calls the binding
// makes: createCursor(id, name, color), moveCursor(id, {index, length}),
// removeCursor(id), clearCursors(), update().
//
// Its styles are a file of the page's own (cursors.css), and colours and
// positions are set through element.style: the page runs under a
// Content-Security-Policy without 'unsafe-inline', which refuses a <style>
// element made by a script (quill-cursors, which the demo used before,
// makes one). Positions are the binding's, in the document's coordinates;
// this module never transforms them itself.
//
// Markup, one per person, in a container over the editor:
//   .ql-cursor                       (.hidden while it has no place)
//     .ql-cursor-selections          > .ql-cursor-selection-block per row
//     .ql-cursor-caret-container     > .ql-cursor-caret
//     .ql-cursor-flag                > .ql-cursor-name
// The flag shows when the cursor moves and while the caret is hovered, and
// fades after FLAG_MS.

const FLAG_MS = 3000;

export class Cursors {
  constructor(quill, options = {}) {
    this.quill = quill;
    this.flagMs = options.flagMs ?? FLAG_MS;
    this.container = quill.addContainer('ql-cursors');
    this.cursors = new Map(); // id -> {el, caret, flag, name, selections, range, timer}
    const redraw = () => this.update();
    quill.root.addEventListener('scroll', redraw, { passive: true });
    window.addEventListener('resize', redraw, { passive: true });
  }

  createCursor(id, name, color) {
    let c = this.cursors.get(id);
    if (!c) {
      const el = element('span', 'ql-cursor hidden');
      const selections = el.appendChild(element('span', 'ql-cursor-selections'));
      const caretBox = el.appendChild(element('span', 'ql-cursor-caret-container'));
      const caret = caretBox.appendChild(element('span', 'ql-cursor-caret'));
      const flag = el.appendChild(element('div', 'ql-cursor-flag'));
      const label = flag.appendChild(element('small', 'ql-cursor-name'));
      caretBox.addEventListener('mouseenter', () => this.showFlag(c, true));
      caretBox.addEventListener('mouseleave', () => this.showFlag(c));
      c = { el, selections, caret, flag, label, range: null, timer: null, color: null };
      this.cursors.set(id, c);
      this.container.appendChild(el);
    }
    if (c.label.textContent !== name) c.label.textContent = name;
    if (c.color !== color) {
      c.color = color;
      c.caret.style.backgroundColor = color;
      c.flag.style.backgroundColor = color;
      for (const block of c.selections.children) block.style.backgroundColor = color;
    }
    return c;
  }

  moveCursor(id, range) {
    const c = this.cursors.get(id);
    if (!c) return;
    const moved = !c.range || c.range.index !== range.index || c.range.length !== range.length;
    c.range = { index: range.index, length: range.length };
    this.draw(c);
    if (moved) this.showFlag(c);
  }

  removeCursor(id) {
    const c = this.cursors.get(id);
    if (!c) return;
    clearTimeout(c.timer);
    c.el.remove();
    this.cursors.delete(id);
  }

  clearCursors() {
    for (const id of [...this.cursors.keys()]) this.removeCursor(id);
  }

  // every cursor again (the layout moved: a scroll, a resize)
  update() {
    for (const c of this.cursors.values()) this.draw(c);
  }

  draw(c) {
    const length = this.quill.getLength();
    if (!c.range || c.range.index >= length) {
      c.el.classList.add('hidden');
      return;
    }
    const end = Math.min(c.range.index + c.range.length, length - 1);
    const caret = this.quill.getBounds(end, 0);
    if (!caret) {
      c.el.classList.add('hidden');
      return;
    }
    c.el.classList.remove('hidden');
    place(c.caret.parentNode, caret);
    c.flag.style.left = `${caret.left}px`;
    c.flag.style.top = `${caret.top}px`;
    c.selections.replaceChildren(
      ...this.rows(c.range.index, end).map((r) => {
        const block = element('span', 'ql-cursor-selection-block');
        block.style.backgroundColor = c.color;
        place(block, r);
        return block;
      }),
    );
  }

  // The rectangles of [from, to), one per line on screen: a range on one
  // line is one getBounds; one that wraps is split until each part is, and
  // the parts on one line joined again.
  rows(from, to) {
    const out = [];
    const add = (box) => {
      const last = out[out.length - 1];
      if (last && Math.abs(last.top - box.top) < 1 && Math.abs(last.left + last.width - box.left) < 1) {
        out[out.length - 1] = { left: last.left, top: last.top, width: box.left + box.width - last.left, height: Math.max(last.height, box.height) };
      } else out.push({ left: box.left, top: box.top, width: box.width, height: box.height });
    };
    const split = (a, b) => {
      if (a >= b) return;
      const box = this.quill.getBounds(a, b - a);
      const line = this.quill.getBounds(a, 0);
      if (!box || !line) return;
      if (box.height <= line.height * 1.5 || b - a === 1) {
        if (box.width > 0) add(box);
        return;
      }
      const mid = a + Math.floor((b - a) / 2);
      split(a, mid);
      split(mid, b);
    };
    split(from, to);
    return out;
  }

  showFlag(c, hovered = false) {
    clearTimeout(c.timer);
    c.flag.classList.add('shown');
    if (!hovered) c.timer = setTimeout(() => c.flag.classList.remove('shown'), this.flagMs);
  }
}

function element(tag, className) {
  const el = document.createElement(tag);
  el.className = className;
  return el;
}

function place(el, box) {
  el.style.left = `${box.left}px`;
  el.style.top = `${box.top}px`;
  el.style.width = `${box.width}px`;
  el.style.height = `${box.height}px`;
}
