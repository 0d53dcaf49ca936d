/** failoverd status/explain print API text (a drain reason) with control characters escaped, never raw. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printable, table } from '../src/cli/admin-commands.ts';

test('a drain reason with an escape sequence, a bell or a newline is escaped in status tables and explain text', () => {
  const reason = 'maint\x1b[2J\x1b]0;pwned\x07\rok\nnext\x9b';
  const t = table(['TARGET', 'OVERRIDE'], [['web@127.0.0.1', `drain by api: ${reason}`]]);
  assert.doesNotMatch(t, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  assert.equal(t.split('\n').length, 3, 'a newline in a cell does not start a row');
  assert.match(t, /drain by api: maint\\x1b\[2J\\x1b\]0;pwned\\x07\\x0dok\\x0anext\\x9b$/m);
  assert.equal(printable(`because ${reason}\n`), 'because maint\\x1b[2J\\x1b]0;pwned\\x07\\x0dok\nnext\\x9b\n');
  assert.equal(printable('plain ünïcode → ok\n'), 'plain ünïcode → ok\n');
});
