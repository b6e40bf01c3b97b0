// What is known of a show's video source, from its bitstream or its encoder's announcement: shared by
// the ingests that learn it, the SFU that forwards it and the transcoder that sizes its ladder by it.

export interface SourceInfo {
  width: number;
  height: number;
  frameRate: number;
  videoCodec: 'h264' | 'other';
}
