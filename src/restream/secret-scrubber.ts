// Third-party stream keys have any shape, so the log's pattern redaction cannot spot them: everything
// a restream FFmpeg says (stderr lines, its last error) passes through a scrubber that knows the key
// and the full URL of its target and replaces them.
import type { Logger } from '../log.ts';

export type Scrub = (text: string) => string;

export function secretScrubber(secrets: { key: string; urls: string[]; masked: string }): Scrub {
  const replacements: [string, string][] = [];
  for (const url of secrets.urls) if (url) replacements.push([url, secrets.masked]);
  for (const form of new Set([secrets.key, encodeURIComponent(secrets.key), encodeURI(secrets.key)])) {
    if (form) replacements.push([form, '[key]']);
  }
  // Longest first, so a URL is masked whole before its parts are.
  replacements.sort((a, b) => b[0].length - a[0].length);
  return (text) => replacements.reduce((out, [secret, mask]) => out.split(secret).join(mask), text);
}

const LEVELS = new Set<PropertyKey>(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);

function scrubValue(value: unknown, scrub: Scrub, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (value instanceof Error) {
    const copy = new Error(scrub(value.message));
    copy.name = value.name;
    return copy;
  }
  if (depth < 3 && value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([name, field]) => [name, scrubValue(field, scrub, depth + 1)]));
  }
  return value;
}

/** A logger (and its children) whose messages and fields are scrubbed before they are written. */
export function scrubbingLogger(logger: Logger, scrub: Scrub): Logger {
  return new Proxy(logger, {
    get(target, property) {
      if (LEVELS.has(property)) {
        const method = Reflect.get(target, property, target) as (...args: unknown[]) => void;
        return (...args: unknown[]) =>
          method.apply(
            target,
            args.map((arg) => scrubValue(arg, scrub)),
          );
      }
      if (property === 'child') {
        return (bindings: Record<string, unknown>, options?: object) =>
          scrubbingLogger(target.child(scrubValue(bindings, scrub) as Record<string, unknown>, options), scrub);
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
