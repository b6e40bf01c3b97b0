// The certificate RTMPS ingest presents: the operator's files (RTMPS_CERT_FILE, RTMPS_KEY_FILE), or
// a self-signed one made once with openssl and kept in the data dir (encoders such as OBS and ffmpeg
// do not verify RTMPS certificates by default; give a real one where they do).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TlsCertificate {
  cert: Buffer;
  key: Buffer;
  /** Where it came from: the configured files, or the self-signed pair in the data dir. */
  source: 'files' | 'self-signed';
  certFile: string;
}

export async function rtmpsCertificate(options: { certFile?: string; keyFile?: string; dataDir: string; hostname: string }): Promise<TlsCertificate> {
  if (options.certFile || options.keyFile) {
    if (!options.certFile || !options.keyFile)
      throw new Error('RTMPS needs both RTMPS_CERT_FILE and RTMPS_KEY_FILE (or neither, for a self-signed certificate)');
    const [cert, key] = await Promise.all([readFile(options.certFile), readFile(options.keyFile)]).catch((error: Error) => {
      throw new Error(`cannot read the RTMPS certificate or key: ${error.message}`);
    });
    return { cert, key, source: 'files', certFile: options.certFile };
  }
  const dir = path.join(options.dataDir, 'rtmps');
  const certFile = path.join(dir, 'self-signed-cert.pem');
  const keyFile = path.join(dir, 'self-signed-key.pem');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const hostname = /^[A-Za-z0-9.-]{1,253}$/.test(options.hostname) ? options.hostname : 'localhost';
    const altName = /^[\d.]+$/.test(hostname) ? `IP:${hostname}` : `DNS:${hostname}`;
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '825',
        '-subj',
        `/CN=${hostname}`,
        '-addext',
        `subjectAltName=${altName},DNS:localhost,IP:127.0.0.1`,
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { timeout: 15_000 },
    ).catch((error: Error) => {
      throw new Error(
        `cannot make a self-signed RTMPS certificate with openssl (install openssl, or set RTMPS_CERT_FILE and RTMPS_KEY_FILE): ${error.message}`,
      );
    });
  }
  const [cert, key] = await Promise.all([readFile(certFile), readFile(keyFile)]);
  return { cert, key, source: 'self-signed', certFile };
}
