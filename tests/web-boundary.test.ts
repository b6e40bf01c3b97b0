// Browser code lives in web/ and takes nothing from the server tree but the wire contract (src/contract):
// the pages' bundle must not pull in server modules, and the server may change them without the pages noticing.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

/** Modules of src/ that web/ still imports outside the contract, and why. Nothing else may be added. */
const KNOWN_EXCEPTIONS: Record<string, string> = {};

function sources(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(directory, entry.name);
    return entry.isDirectory() ? sources(full) : /\.ts$/.test(entry.name) ? [full] : [];
  });
}

describe('web/', () => {
  it('imports nothing from src/ but the contract', () => {
    const reached: string[] = [];
    for (const file of sources(path.join(ROOT, 'web/src'))) {
      for (const [, fromClause, dynamic] of readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g)) {
        const specifier = fromClause ?? dynamic;
        if (!specifier?.startsWith('.')) continue;
        const target = path.relative(ROOT, path.resolve(path.dirname(file), specifier));
        if (target.startsWith(`src${path.sep}`) && !target.startsWith(`src${path.sep}contract${path.sep}`)) reached.push(target);
      }
    }
    expect([...new Set(reached)].filter((target) => !(target in KNOWN_EXCEPTIONS))).toEqual([]);
    // The player's fold and cue type come from the contract: the check above sees real imports.
    expect(readFileSync(path.join(ROOT, 'web/src/player/cue-scheduler.ts'), 'utf8')).toContain("from '../../../src/contract/cue-fold.ts'");
  });
});
