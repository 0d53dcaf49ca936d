#!/usr/bin/env node
// npm run lint:time: time reaches failoverd only through the Clock
// (src/clock.ts: now(), setTimer(), defer(), nextTurn()), so unit tests script
// it with FakeClock. Outside src/clock.ts this fails on any use of the global
// timers (setTimeout, setInterval, setImmediate and their clear*), Date.now(),
// and imports of node:timers; a method of the same name on another object
// (socket.setTimeout) is not a timer and passes. performance.now() measures a
// duration, not the time, and is allowed.
//   node scripts/lint-time.mjs [DIR]   (default: src)
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = process.argv[2] ?? 'src';
const CLOCK_MODULE = join(root, 'clock.ts');
const TIMERS = new Set(['setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'clearImmediate']);

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) yield p;
  }
}

const problems = [];
for (const file of files(root)) {
  if (file === CLOCK_MODULE) continue;
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const report = (node, what) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    problems.push(`${relative(process.cwd(), file)}:${line + 1}:${character + 1}: ${what}: use the Clock (src/clock.ts)`);
  };
  const visit = (node) => {
    if (ts.isIdentifier(node) && TIMERS.has(node.text)) {
      const p = node.parent;
      const isMember = (ts.isPropertyAccessExpression(p) && p.name === node) || (ts.isPropertyAssignment(p) && p.name === node) || ts.isMethodDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodSignature(p) || (ts.isPropertyDeclaration(p) && p.name === node);
      if (!isMember) report(node, node.text);
    }
    if (ts.isPropertyAccessExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Date' && node.name.text === 'now') report(node, 'Date.now');
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier) && /^(node:)?timers(\/promises)?$/.test(node.moduleSpecifier.text)) report(node, `import from ${node.moduleSpecifier.text}`);
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
if (problems.length > 0) {
  process.stderr.write(`${problems.join('\n')}\nlint:time: ${problems.length} use(s) of time outside the Clock\n`);
  process.exit(1);
}
process.stdout.write(`lint:time: no timer or clock reading outside ${CLOCK_MODULE}\n`);
