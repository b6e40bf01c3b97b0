// An S3 server for tests (s3rver), restartable on the same port and directory to simulate outages.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export class TestS3 {
  #server?: S3rver;
  private constructor(
    readonly directory: string,
    public port: number,
    readonly bucket: string,
  ) {}

  static async start(bucket = 'livecue'): Promise<TestS3> {
    const directory = await mkdtemp(path.join(tmpdir(), 'livecue-s3-'));
    const s3 = new TestS3(directory, 0, bucket);
    await s3.up();
    return s3;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get config() {
    return {
      S3_ENDPOINT: this.endpoint,
      S3_BUCKET: this.bucket,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    } as const;
  }

  async up(): Promise<void> {
    this.#server = new S3rver({ port: this.port, address: '127.0.0.1', silent: true, directory: this.directory, configureBuckets: [{ name: this.bucket }] });
    const address = await this.#server.run();
    this.port = address.port;
  }

  async down(): Promise<void> {
    await this.#server?.close();
    this.#server = undefined;
  }

  async stop(): Promise<void> {
    await this.down();
    await rm(this.directory, { recursive: true, force: true });
  }
}
