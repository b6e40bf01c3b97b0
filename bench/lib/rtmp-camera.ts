// An RTMP "camera" for the WebRTC bench: stamped gray bands written by Node in real time, overlaid on a moving
// test pattern by an FFmpeg x264 encoder (veryfast: High profile, zerolatency, no B-frames, 1 s GOP) with an AAC
// tone, pushed to livecue.
import { spawn } from 'node:child_process';
import { bandHeight, stampBand } from './frame-clock.ts';

export interface RtmpCamera {
  pid: number;
  audio: boolean;
  framesWritten: number;
  maxBacklogFrames: number;
  stop(): Promise<number | null>;
}

export interface RtmpCameraOptions {
  width: number;
  height: number;
  fps: number;
  /** Constant-ish video bitrate (kbit/s); default: x264's CRF 23. */
  videoKbps?: number;
  /** With an AAC tone (default); without, FFmpeg's FLV muxer has no audio to interleave the video with. */
  audio?: boolean;
  /** x264 preset: veryfast (default) gives High, as the README's push and OBS's x264 do; ultrafast gives constrained baseline. */
  preset?: string;
}

export function startRtmpCamera(url: string, { width, height, fps, videoKbps, audio = true, preset = 'veryfast' }: RtmpCameraOptions): RtmpCamera {
  const band = bandHeight(height);
  const rate = videoKbps ? ['-b:v', `${videoKbps}k`, '-maxrate', `${videoKbps}k`, '-bufsize', `${videoKbps}k`] : [];
  const args = [
    '-hide_banner', '-loglevel', 'error',
    '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${width}x${band}`, '-r', String(fps), '-i', 'pipe:0',
    ...(audio ? ['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] : []),
    '-filter_complex', `testsrc2=size=${width}x${height}:rate=${fps}[bg];[bg][0:v]overlay=0:0:shortest=1,format=yuv420p[v]`,
    '-map', '[v]', ...(audio ? ['-map', '1:a'] : []),
    '-c:v', 'libx264', '-preset', preset, '-tune', 'zerolatency', '-g', String(fps), '-bf', '0', ...rate,
    ...(audio ? ['-c:a', 'aac', '-b:a', '128k'] : []),
    '-shortest', '-flush_packets', '1', '-f', 'flv', url,
  ];
  const child = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
  child.stdout.resume();
  child.stdin.on('error', () => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const frameBytes = width * band;
  const start = Date.now();
  let pacing: NodeJS.Timeout | undefined;
  const camera: RtmpCamera = {
    pid: child.pid!,
    audio,
    framesWritten: 0,
    maxBacklogFrames: 0,
    async stop() {
      clearTimeout(pacing);
      child.stdin.end();
      const interrupt = setTimeout(() => child.kill('SIGINT'), 3000);
      const kill = setTimeout(() => child.kill('SIGKILL'), 6000);
      const code = await exited;
      clearTimeout(interrupt);
      clearTimeout(kill);
      if (code !== 0 && stderr.trim()) console.error(`rtmp camera exited ${code}: ${stderr.trim().slice(-300)}`);
      return code;
    },
  };
  const pump = () => {
    // Frames are due by the wall clock; a late timer writes the frames it owes, each stamped when written.
    const due = Math.floor(((Date.now() - start) * fps) / 1000) + 1;
    while (camera.framesWritten < due && child.stdin.writable) {
      child.stdin.write(stampBand(Date.now(), width, height));
      camera.framesWritten++;
    }
    camera.maxBacklogFrames = Math.max(camera.maxBacklogFrames, Math.floor(child.stdin.writableLength / frameBytes));
    pacing = setTimeout(pump, Math.max(1, start + (camera.framesWritten * 1000) / fps - Date.now()));
  };
  pump();
  return camera;
}
