// Secrets livecue generates for itself when none is configured, kept in the data dir (mode 0600) so
// they survive restarts. Several nodes must be given the same value through the environment.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function persistentSecret(options: { configured?: string; dataDir: string; fileName: string; generate: () => string }): {
  value: string;
  generated: boolean;
  file?: string;
} {
  if (options.configured) return { value: options.configured, generated: false };
  const file = path.join(options.dataDir, options.fileName);
  if (existsSync(file)) return { value: readFileSync(file, 'utf8').trim(), generated: false, file };
  mkdirSync(options.dataDir, { recursive: true });
  const value = options.generate();
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
  return { value, generated: true, file };
}
