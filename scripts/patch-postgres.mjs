// Mends a known crash in postgres.js 3.4.x (upstream issues #1066, #1154, #1208): a write that
// was deferred with setImmediate can run after its connection closed and call socket.write on
// null, an uncaught TypeError that kills the process (seen here when the database restarts
// under load). The guard rejects the pending query with CONNECTION_CLOSED instead, and teardown
// forgets the cancelled timer so the connection can write again once it reconnects.
// Runs on `npm install`; does nothing once the installed version no longer has the defect.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MARK = '/* inlet: null-socket guard */';

const edits = [
  [
    '  function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    `  function nextWrite(fn) {\n    ${MARK}\n    if (!socket) {\n      chunk = nextWriteTimer = null\n      error(Errors.connection('CONNECTION_CLOSED', options))\n      return false\n    }\n    const x = socket.write(chunk, fn)`,
  ],
  [
    '    clearImmediate(nextWriteTimer)\n    if (socket) {',
    '    clearImmediate(nextWriteTimer)\n    nextWriteTimer = null\n    if (socket) {',
  ],
  [
    '    clearImmediate(nextWriteTimer)\n    socket.removeListener(',
    '    clearImmediate(nextWriteTimer)\n    nextWriteTimer = null\n    socket.removeListener(',
  ],
];

for (const flavour of ['src', 'cjs/src']) {
  const file = path.join(root, 'node_modules/postgres', flavour, 'connection.js');
  if (!existsSync(file)) continue;
  let text = readFileSync(file, 'utf8');
  if (text.includes(MARK)) continue;
  if (!edits.every(([from]) => text.includes(from))) {
    console.warn(
      `inlet: postgres.js ${flavour}/connection.js differs from 3.4.9; not patched (check the null-socket fix)`,
    );
    continue;
  }
  for (const [from, to] of edits) text = text.replace(from, to);
  writeFileSync(file, text);
}
