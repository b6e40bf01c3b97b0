// The browser the page tests drive: Debian's chromium through playwright-core, headless, with the built pages.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Fails at once, saying how to install it, when chromium is missing; builds the pages when a direct vitest run has not. */
export function requireChromiumAndPages(): void {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/test.sh does)`);
  // `npm test` builds the pages first; a direct vitest run builds them when they are missing.
  if (!existsSync(path.join(ROOT, 'dist/web/watch.html'))) execFileSync('npm', ['run', 'build:web'], { cwd: ROOT, stdio: 'ignore' });
}

/** Headless chromium without GPU, QUIC or background traffic, playing media without a gesture; `extraArgs` after these. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core gives each launch a fresh profile directory (--user-data-dir) and --no-sandbox.
    args: [
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
}
