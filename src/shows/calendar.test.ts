import { describe, expect, it } from 'vitest';
import { escapeText, foldLine, showCalendar, utcStamp } from './calendar.ts';

describe('show calendar (RFC 5545)', () => {
  it('escapes text and writes UTC times', () => {
    expect(escapeText('a,b;c\\d\ne')).toBe('a\\,b\\;c\\\\d\\ne');
    expect(utcStamp(new Date('2026-12-24T18:00:00.500Z'))).toBe('20261224T180000Z');
  });

  it('folds long lines at 75 octets without splitting a character', () => {
    const folded = foldLine(`DESCRIPTION:${'é'.repeat(80)}`);
    for (const line of folded.split('\r\n')) expect(Buffer.byteLength(line)).toBeLessThanOrEqual(75);
    expect(folded.replace(/\r\n /g, '')).toBe(`DESCRIPTION:${'é'.repeat(80)}`);
  });

  it('holds one event with its start, end and watch URL, CRLF-terminated', () => {
    const text = showCalendar({
      uid: 'show-str_x@livecue',
      title: 'Winter sale, live',
      description: null,
      startAt: new Date('2026-12-24T18:00:00Z'),
      watchUrl: 'https://shop.example/watch/abc',
      updatedAt: new Date('2026-12-01T00:00:00Z'),
    });
    expect(text).toContain('\r\nDTSTART:20261224T180000Z\r\nDTEND:20261224T190000Z\r\n');
    expect(text).toContain('SUMMARY:Winter sale\\, live');
    expect(text.endsWith('END:VCALENDAR\r\n')).toBe(true);
  });
});
