/**
 * A folder for config unit tests: the example zone under zones/, config
 * files written there from a common head plus each test's body, loaded by
 * the real loader, or the problems the loader refuses them with. Removed
 * after the test file's tests.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { ProblemsError } from '../../src/errors.ts';
import { EXAMPLE_ZONE_FILE } from './dns-fixture.ts';

export class ConfigFolder {
  readonly dir: string;
  private n = 0;

  /** `name` names the temp folder; `head` starts every config written by load() and problems(). */
  constructor(name: string, private readonly head = '') {
    this.dir = mkdtempSync(join(tmpdir(), `failoverd-${name}-`));
    mkdirSync(join(this.dir, 'zones'));
    copyFileSync(EXAMPLE_ZONE_FILE, join(this.dir, 'zones', 'example.test.zone'));
    after(() => rmSync(this.dir, { recursive: true, force: true }));
  }

  /** Writes head + body to a new file in the folder; returns its path. */
  write(body: string): string {
    const file = join(this.dir, `c${this.n++}.yaml`);
    writeFileSync(file, this.head + body);
    return file;
  }

  load(body: string): ReturnType<typeof loadConfig> {
    return loadConfig(this.write(body));
  }

  /** The problems the loader refuses head + body with, as "path: message"; fails the test when it loads. */
  async problems(body: string): Promise<string[]> {
    try {
      await this.load(body);
    } catch (err) {
      assert.ok(err instanceof ProblemsError, String(err));
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
    assert.fail('expected the config to be refused');
  }
}
