// cli.mjs — talks to build/diff/delta_cli (tests/diff/delta_cli.c).
//
// Requests go in batches: one JSON line each on the CLI's stdin, one JSON
// answer line each back, in order.  A batch is one process run, so a crash
// names the first request left without an answer.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const CLI = process.env.DELTA_CLI || path.join(REPO, 'build/diff/delta_cli');

export function cliAvailable() {
  return existsSync(CLI);
}

// Runs requests (objects) through the CLI; returns their answers (objects).
export function runCli(requests) {
  return runLines(requests.map((r) => JSON.stringify(r)));
}

// The same for request lines already encoded, as strings or Buffers (they
// may be invalid JSON or invalid UTF-8, but must not contain a newline).
export function runLines(requests) {
  if (requests.length === 0) return [];
  const input = Buffer.concat(requests.flatMap((r) => [Buffer.from(r), Buffer.from('\n')]));
  const res = spawnSync(CLI, [], { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  if (res.error) throw new Error(`cannot run ${CLI}: ${res.error.message} (build it with tests/diff/run)`);
  const answers = res.stdout.split('\n');
  if (answers[answers.length - 1] === '') answers.pop();
  if (res.status !== 0 || answers.length !== requests.length) {
    const first = requests[answers.length];
    throw new Error(
      `delta_cli exited with status ${res.status}, signal ${res.signal}, ` +
        `after ${answers.length} of ${requests.length} answers\n` +
        (first ? `first request without an answer: ${String(first).slice(0, 4000)}\n` : '') +
        `stderr: ${res.stderr.slice(0, 4000)}`,
    );
  }
  return answers.map((line, i) => {
    try {
      return JSON.parse(line);
    } catch (e) {
      throw new Error(`delta_cli answered request ${String(requests[i]).slice(0, 2000)} with invalid JSON: ${line.slice(0, 2000)}`);
    }
  });
}
