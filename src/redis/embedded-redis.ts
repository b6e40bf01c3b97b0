// Without REDIS_URL, livecue runs its own redis-server child on a free loopback port.
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Logger } from '../log.ts';
import { spawnOwned } from '../owned-process.ts';

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export class EmbeddedRedis {
  #child: ChildProcess;
  #closing?: Promise<void>;
  readonly url: string;

  private constructor(
    child: ChildProcess,
    port: number,
    private readonly logger: Logger,
  ) {
    this.#child = child;
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(options: { binary: string; logger: Logger; port?: number }): Promise<EmbeddedRedis> {
    const port = options.port ?? (await freePort());
    // Its own process group: a terminal's Ctrl-C stops livecue, which closes this last.
    const child = spawnOwned(options.binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'notice'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => fail(new Error(`redis-server did not become ready within 10 s: ${output.slice(-500)}`)), 10_000);
      const fail = (error: Error) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(error);
      };
      child.once('error', (error: NodeJS.ErrnoException) => {
        fail(
          error.code === 'ENOENT' ? new Error(`redis-server not found (${options.binary}): install it (apt-get install redis-server) or set REDIS_URL`) : error,
        );
      });
      child.once('exit', (code) => fail(new Error(`redis-server exited with code ${code}: ${output.slice(-500)}`)));
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          child.removeAllListeners('exit');
          child.stdout?.off('data', onData);
          child.stderr?.off('data', onData);
          // Keep draining its output so the pipe never fills.
          child.stdout?.resume();
          child.stderr?.resume();
          resolve();
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
    });
    child.on('exit', (code, signal) => {
      options.logger.error({ code, signal }, 'embedded redis-server exited');
    });
    options.logger.info({ port }, 'embedded redis-server started');
    return new EmbeddedRedis(child, port, options.logger);
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null) return resolve();
      this.#child.removeAllListeners('exit');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
      this.#child.once('exit', () => {
        clearTimeout(timer);
        this.logger.info('embedded redis-server stopped');
        resolve();
      });
      this.#child.kill('SIGTERM');
    });
    return this.#closing;
  }
}
