// Structured JSON logs (pino). Secrets are redacted by field name and by pattern, so a stream key
// or token never reaches a log line even when it hides inside a URL or an error message.
import { pino, type Logger } from 'pino';

export type { Logger };

const SECRET_FIELDS = [
  'streamKey',
  'token',
  'authorization',
  'adminToken',
  '*.streamKey',
  '*.token',
  '*.authorization',
  'req.headers.authorization',
  'secretAccessKey',
  '*.secretAccessKey',
];

/** Stream keys look like lck_<base62>, admin tokens lca_, API tokens lct_, webhook secrets whsec_. */
const SECRET_PATTERN = /\b(?:lc[kat]|whsec)_[A-Za-z0-9]{8,}/g;

export function redactSecrets(text: string): string {
  return text.replace(SECRET_PATTERN, (match) => `${match.slice(0, match.indexOf('_') + 1)}[redacted]`);
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: SECRET_FIELDS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          const cleaned = args.map((arg) => {
            if (typeof arg === 'string') return redactSecrets(arg);
            if (arg instanceof Error) {
              const copy = new Error(redactSecrets(arg.message));
              copy.name = arg.name;
              copy.stack = arg.stack === undefined ? undefined : redactSecrets(arg.stack);
              return copy;
            }
            return arg;
          });
          method.apply(this, cleaned as Parameters<typeof method>);
        },
      },
      serializers: {
        // A logged error keeps its stack (where the bug is) and its code, with any secret in them redacted.
        err: (error: unknown) => {
          if (!(error instanceof Error)) return { message: redactSecrets(String(error)) };
          const code = (error as { code?: unknown }).code;
          return {
            type: error.name,
            message: redactSecrets(error.message),
            ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
            ...(error.stack ? { stack: redactSecrets(error.stack) } : {}),
          };
        },
      },
    },
    destination,
  );
}
