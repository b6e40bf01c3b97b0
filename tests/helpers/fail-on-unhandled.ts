// A test during which the process saw an unhandled rejection or an uncaught exception has failed, even when
// its assertions passed: such an error would kill (or silently wound) a node in production.
import { afterAll, afterEach } from 'vitest';

const seen: string[] = [];
const record = (kind: string) => (error: unknown) => {
  seen.push(`${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
};
process.on('unhandledRejection', record('unhandled rejection'));
process.on('uncaughtException', record('uncaught exception'));

function check(): void {
  if (seen.length === 0) return;
  const errors = seen.splice(0);
  throw new Error(`the process saw ${errors.length} unhandled error(s) during this test:\n${errors.join('\n')}`);
}

afterEach(check);
afterAll(check);
