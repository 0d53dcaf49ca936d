/** npm run docs: writes docs/configuration.md from the config schema. */
import { writeFileSync } from 'node:fs';
import { renderConfigReference, referenceGaps } from './config-reference.ts';

const file = new URL('../docs/configuration.md', import.meta.url);
writeFileSync(file, renderConfigReference());
const gaps = referenceGaps();
process.stdout.write('docs/configuration.md written\n');
for (const p of gaps.undocumented) process.stderr.write(`  no description in src/config/reference.ts: ${p}\n`);
for (const p of gaps.unknown) process.stderr.write(`  described in src/config/reference.ts but not in the schema: ${p}\n`);
for (const p of gaps.noExample) process.stderr.write(`  no example and no default: ${p}\n`);
if (gaps.undocumented.length || gaps.unknown.length || gaps.noExample.length) process.exitCode = 1;
