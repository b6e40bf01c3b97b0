// A bench helper process (forked with the same tsx loader) asked questions over IPC: each request
// carries an id, each reply answers one; close asks it to finish, then kills it if it lingers.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

type WithId = { id: number };
type Reply = WithId & { type: string };
/** A request without its id, kept per member of the request union. */
export type Unsent<R extends WithId> = R extends WithId ? Omit<R, 'id'> : never;

export class IpcChild<Request extends WithId, Answer extends Reply> {
  readonly child: ChildProcess;
  #nextId = 1;
  #waiting = new Map<number, (reply: Answer) => void>();

  constructor(
    moduleUrl: URL,
    private readonly what: string,
    serialization: 'json' | 'advanced' = 'json',
  ) {
    this.child = fork(fileURLToPath(moduleUrl), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization });
    this.child.on('message', (reply: Answer) => {
      this.#waiting.get(reply.id)?.(reply);
      this.#waiting.delete(reply.id);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  ask<T extends Answer['type']>(request: Unsent<Request>): Promise<Extract<Answer, { type: T }>> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`${this.what} exited`));
      this.child.once('exit', onExit);
      this.#waiting.set(id, (reply) => {
        this.child.off('exit', onExit);
        resolve(reply as Extract<Answer, { type: T }>);
      });
      this.child.send({ ...request, id });
    });
  }

  /** Asks the helper to close (it answers `closed`), waits up to 20 s, then kills it after 3 s more. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    await Promise.race([this.ask({ type: 'close' } as unknown as Unsent<Request>), new Promise((resolve) => setTimeout(resolve, 20_000))]).catch(() => {});
    const kill = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(kill);
  }
}

/** The helper's side: answers each request with `handle`, and exits once it answered `closed` or the bench is gone. */
export function answerRequests<Request, Answer extends { type: string }>(handle: (request: Request) => Promise<Answer>): void {
  process.on('message', (request: Request) => {
    void handle(request).then((reply) => {
      process.send!(reply);
      if (reply.type === 'closed') setTimeout(() => process.exit(0), 100);
    });
  });
  process.on('disconnect', () => process.exit(0));
}
