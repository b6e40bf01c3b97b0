// The compiled server (dist/, `npm run build`) that the image, the pods and ./scripts/start.sh run.
// Tests that run it build it first when a source is newer than the last build; test files running
// at once take turns through a lock directory, so one build writes dist/ at a time.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STAMP = path.join(ROOT, 'dist', '.tsbuildinfo');
const LOCK = path.join(ROOT, 'dist', '.build-lock');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

const stale = () => {
  try {
    return statSync(STAMP).mtimeMs < Math.max(newestSource(path.join(ROOT, 'src')), statSync(path.join(ROOT, 'tsconfig.build.json')).mtimeMs);
  } catch {
    return true;
  }
};

/** Builds dist/ from the current sources unless it is up to date. */
export async function buildServer(): Promise<void> {
  if (!stale()) return;
  mkdirSync(path.dirname(LOCK), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch {
      // Another test file is building; a lock older than the longest build is left over from a crash.
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > 180_000) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // Released meanwhile.
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    if (stale())
      await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], {
        cwd: ROOT,
        timeout: 170_000,
      });
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
