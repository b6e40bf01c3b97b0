import { describe, expect, it } from 'vitest';
import { parseLiveQuery, parseRange } from './hls-origin.ts';

describe('parseRange', () => {
  it('reads the single-range forms players and CDNs send', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=900-', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=-100', 1000)).toEqual({ start: 900, end: 999 });
    expect(parseRange('bytes=990-2000', 1000)).toEqual({ start: 990, end: 999 });
  });

  it('tells unsatisfiable from unparseable', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=5-2', 1000)).toBe('unsatisfiable');
    expect(parseRange('items=0-1', 1000)).toBeUndefined();
    expect(parseRange('bytes=0-1,5-6', 1000)).toBeUndefined();
  });
});

describe('LL-HLS query', () => {
  it('reads _HLS_msn, _HLS_part and _HLS_skip', () => {
    expect(parseLiveQuery({})).toEqual({ msn: undefined, part: undefined, skip: false });
    expect(parseLiveQuery({ _HLS_msn: '12', _HLS_part: '3' })).toEqual({ msn: 12, part: 3, skip: false });
    expect(parseLiveQuery({ _HLS_msn: '12', _HLS_skip: 'YES' })).toEqual({ msn: 12, part: undefined, skip: true });
  });

  it('says what is wrong with a malformed one', () => {
    expect(parseLiveQuery({ _HLS_msn: 'abc' })).toMatch(/_HLS_msn/);
    expect(parseLiveQuery({ _HLS_msn: '-1' })).toMatch(/_HLS_msn/);
    expect(parseLiveQuery({ _HLS_part: '2' })).toMatch(/_HLS_part/);
    expect(parseLiveQuery({ _HLS_msn: '1', _HLS_part: '1.5' })).toMatch(/_HLS_part/);
    expect(parseLiveQuery({ _HLS_msn: ['1', '2'] })).toMatch(/once/);
    expect(parseLiveQuery({ _HLS_skip: 'NO' })).toMatch(/_HLS_skip/);
    expect(parseLiveQuery({ _HLS_msn: '9999999999' })).toMatch(/_HLS_msn/);
  });
});
