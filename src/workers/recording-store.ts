// The recordings (replays) as the API reads them: a stream's list, one by id, the newest ready one, and
// deletion of a recording's media (the row stays, marked deleted).
import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { recordings } from '../db/schema.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { RecordingRow } from './recording-builder.ts';
import { deleteRecordingMedia } from './worker-host.ts';

const RECORDING_ID = /^rec_[A-Za-z0-9]{16}$/;

export class RecordingStore {
  constructor(
    private readonly db: Db,
    private readonly store: ObjectStore,
  ) {}

  /** A stream's recordings, newest first. */
  ofStream(streamId: string): Promise<RecordingRow[]> {
    return this.db.select().from(recordings).where(eq(recordings.streamId, streamId)).orderBy(desc(recordings.createdAt));
  }

  async get(id: string): Promise<RecordingRow | undefined> {
    if (!RECORDING_ID.test(id)) return undefined;
    const [row] = await this.db.select().from(recordings).where(eq(recordings.id, id));
    return row;
  }

  /** The replay viewers get: the stream's newest ready recording. */
  async newestReady(streamId: string): Promise<RecordingRow | undefined> {
    const [row] = await this.db
      .select()
      .from(recordings)
      .where(and(eq(recordings.streamId, streamId), eq(recordings.status, 'ready')))
      .orderBy(desc(recordings.readyAt))
      .limit(1);
    return row;
  }

  deleteMedia(recording: RecordingRow): Promise<void> {
    return deleteRecordingMedia(this.db, this.store, recording);
  }
}
