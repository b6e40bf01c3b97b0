// How a livecue process stops: SIGINT (Ctrl-C), SIGTERM (Kubernetes, docker stop) and SIGHUP (the
// terminal closed) all run the same orderly stop once, then the process exits 0. The children it owns
// run in their own process groups (owned-process.ts), so the signal reaches only this process.
import type { Logger } from './log.ts';

export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

export function installStopSignals(options: {
  logger: Logger;
  stop: (signal: StopSignal) => Promise<void>;
  forceAfterMs: (signal: StopSignal) => number;
}): void {
  let stopping: StopSignal | undefined;
  const onSignal = (signal: StopSignal) => {
    if (stopping) {
      // A second Ctrl-C means "now": what is still open is cut (owned children are killed on exit).
      if (signal === 'SIGINT') {
        options.logger.warn({ signal }, 'stopping at once');
        process.exit(130);
      }
      return;
    }
    stopping = signal;
    options.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      options.logger.error({ signal }, 'did not stop in time; exiting');
      process.exit(1);
    }, options.forceAfterMs(signal));
    force.unref();
    options.stop(signal).then(
      () => process.exit(0),
      (error: Error) => {
        options.logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  for (const signal of STOP_SIGNALS) process.on(signal, () => onSignal(signal));
}
