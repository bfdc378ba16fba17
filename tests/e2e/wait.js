// wait.js — the waits the end-to-end tests share: a pause, and a bounded
// wait for a condition that fails the test, saying what it waited for.
import assert from 'node:assert/strict';

export const pause = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls pred every 20 ms; fails after ms with what (a text, or a function
// giving one) it was waiting for.
export async function until(what, pred, ms = 20000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${typeof what === 'function' ? what() : what}`);
    await pause(20);
  }
}
