// Redis Lua scripts live in .lua files next to the module that runs them (the build copies them into dist/).
import { readFileSync } from 'node:fs';

/** The source of a script beside the calling module: `readLua(new URL('./lua/take.lua', import.meta.url))`. */
export function readLua(file: URL): string {
  return readFileSync(file, 'utf8');
}
