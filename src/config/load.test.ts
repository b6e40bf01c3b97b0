import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig } from './load.ts';

describe('configuration', () => {
  it('has documented defaults and is frozen', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      PORT: 8080,
      RTMP_PORT: 1935,
      LIVECUE_DATA_DIR: './data',
      SEGMENT_SECONDS: 2,
      RECONNECT_WINDOW_SECONDS: 30,
      X264_PRESET: 'ultrafast',
    });
    expect(config.DATABASE_URL).toBeUndefined();
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('rejects unknown keys and bad values with a message naming them', () => {
    expect(() => parseConfig({ PROT: '80' })).toThrow(/unknown option\(s\) PROT/);
    expect(() => parseConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => parseConfig({ SEGMENT_SECONDS: '0.5' })).toThrow(/SEGMENT_SECONDS/);
    expect(() => parseConfig({ LADDER: '1080p,720p' })).toThrow(/comma-separated list of heights/);
  });

  it('reads the environment, ignoring variables that are not livecue options, and treats empty as unset', () => {
    const config = loadConfig({ PORT: '9000', S3_FORCE_PATH_STYLE: 'true', DATABASE_URL: '', HOME: '/root', LIVECUE_CONFIG: undefined });
    expect(config.PORT).toBe(9000);
    expect(config.S3_FORCE_PATH_STYLE).toBe(true);
    expect(config.DATABASE_URL).toBeUndefined();
  });

  it('refuses a missing config file named by LIVECUE_CONFIG', () => {
    expect(() => loadConfig({ LIVECUE_CONFIG: '/nonexistent/livecue.json' })).toThrow(/does not exist/);
  });

  it('asks for announced addresses only in roles that run WebRTC', () => {
    for (const ROLE of ['api', 'worker']) {
      expect(parseConfig({ ROLE, WEBRTC_LISTEN_IP: '0.0.0.0' }).ROLE).toBe(ROLE);
    }
    for (const ROLE of ['all', 'ingest', 'sfu']) {
      expect(() => parseConfig({ ROLE, WEBRTC_LISTEN_IP: '0.0.0.0' })).toThrow(/WEBRTC_ANNOUNCED_ADDRESS: required when WEBRTC_LISTEN_IP is 0.0.0.0/);
      expect(() => parseConfig({ ROLE, PIPE_LISTEN_IP: '0.0.0.0' })).toThrow(/PIPE_ANNOUNCED_ADDRESS: required when the pipes bind 0.0.0.0/);
      expect(parseConfig({ ROLE, WEBRTC_LISTEN_IP: '0.0.0.0', WEBRTC_ANNOUNCED_ADDRESS: '203.0.113.5' }).ROLE).toBe(ROLE);
    }
    expect(() => parseConfig({ ROLE: 'api', WEBRTC_MIN_PORT: '5000', WEBRTC_MAX_PORT: '4000' })).toThrow(/must not exceed WEBRTC_MAX_PORT/);
  });
});
