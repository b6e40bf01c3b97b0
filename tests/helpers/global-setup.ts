// Checks that the machine's PostgreSQL and Redis answer (starting them when they are installed but
// stopped) and that ffmpeg is installed, so a missing service fails fast with a clear message.
import { execSync } from 'node:child_process';
import { connect } from 'node:net';

const POSTGRES = { host: '127.0.0.1', port: 5432 };
const REDIS = { host: '127.0.0.1', port: 6379 };

function reachable(target: { host: string; port: number }): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(target);
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function ensure(name: string, target: { host: string; port: number }, startCommand: string): Promise<void> {
  if (await reachable(target)) return;
  try {
    execSync(startCommand, { stdio: 'ignore', timeout: 30_000 });
  } catch {
    // Reported below.
  }
  for (let i = 0; i < 50; i++) {
    if (await reachable(target)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${name} is not reachable on ${target.host}:${target.port} and could not be started with: ${startCommand}`);
}

export default async function setup(): Promise<void> {
  try {
    execSync('ffmpeg -version && ffprobe -version', { stdio: 'ignore' });
  } catch {
    throw new Error('ffmpeg/ffprobe are not installed: run scripts/setup.sh (apt-get install ffmpeg)');
  }
  await ensure('PostgreSQL', POSTGRES, 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start');
  await ensure('Redis', REDIS, 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /tmp');
}
