#!/usr/bin/env node
// No import cycle between folders (part of `npm run lint:deps`).
// dependency-cruiser's no-circular rule sees files: a.ts → b.ts → a.ts. Two
// folders can still import each other through different files (config/x.ts
// → records/y.ts, records/z.ts → config/w.ts), which hides the direction of
// the flow just the same. This collapses the import graph to folders (a file
// directly under src/ is its own unit) and fails on any cycle, naming the
// folders and one import for each step.
//
// Usage: node scripts/folder-cycles.mjs [src-dir]   (run from the project root)
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = process.argv[2] ?? 'src';
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const r = spawnSync(process.execPath, [depcruise, src, '--config', '.dependency-cruiser.cjs', '--output-type', 'json'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
if (r.status !== 0 && !r.stdout) {
  process.stderr.write(r.stderr);
  process.exit(2);
}
const { modules } = JSON.parse(r.stdout);

/** src/config/x.ts → "config/"; src/daemon.ts → "daemon.ts"; outside src: undefined. */
const unitOf = (path) => {
  const m = /^src\/([^/]+)(\/)?/.exec(path);
  return m ? m[1] + (m[2] ?? '') : undefined;
};

/** unit → unit → one import that makes the edge. */
const edges = new Map();
for (const m of modules) {
  const from = unitOf(m.source);
  if (!from) continue;
  for (const d of m.dependencies) {
    const to = unitOf(d.resolved);
    if (!to || to === from) continue;
    if (!edges.has(from)) edges.set(from, new Map());
    if (!edges.get(from).has(to)) edges.get(from).set(to, `${m.source} → ${d.resolved}`);
  }
}

// Strongly connected components (Tarjan); every component of more than one unit is a cycle.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
const visit = (v) => {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const c = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      c.push(w);
    } while (w !== v);
    if (c.length > 1) components.push(c.sort());
  }
};
for (const v of [...edges.keys()].sort()) if (!idx.has(v)) visit(v);

if (components.length === 0) {
  console.log(`folder-cycles: no import cycle between folders (${edges.size} units)`);
  process.exit(0);
}
for (const c of components) {
  console.error(`folder-cycles: these import each other: ${c.join(', ')}`);
  const inC = new Set(c);
  for (const from of c) for (const [to, via] of edges.get(from) ?? []) if (inC.has(to)) console.error(`  ${from} → ${to}: ${via}`);
}
process.exit(1);
