// A scheduled show as an iCalendar file (RFC 5545): one VEVENT in UTC, text escaped and lines folded as calendar apps expect.

/** Shows have no announced end: calendars get this long a slot. */
export const CALENDAR_EVENT_MINUTES = 60;

/** TEXT values escape backslash, semicolon, comma and newlines (RFC 5545 3.3.11). */
export function escapeText(text: string): string {
  return text
    .replace(/\\/g, '\\\\')
    .replace(/;/g, '\\;')
    .replace(/,/g, '\\,')
    .replace(/\r\n|\r|\n/g, '\\n');
}

/** UTC DATE-TIME form: 20261224T180000Z. */
export function utcStamp(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** Lines longer than 75 octets are folded: CRLF and a space, never inside a UTF-8 character (3.1). */
export function foldLine(line: string): string {
  const parts: string[] = [];
  let current = '';
  let octets = 0;
  for (const char of line) {
    const size = Buffer.byteLength(char);
    // The first line holds 75 octets; each continuation 74 after its leading space.
    if (octets + size > (parts.length === 0 ? 75 : 74)) {
      parts.push(current);
      current = '';
      octets = 0;
    }
    current += char;
    octets += size;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

export interface CalendarShow {
  uid: string;
  title: string;
  description: string | null;
  startAt: Date;
  watchUrl: string;
  /** When the schedule last changed: the event's LAST-MODIFIED and SEQUENCE, so an update replaces it. */
  updatedAt: Date;
}

export function showCalendar(show: CalendarShow, now = new Date()): string {
  const end = new Date(show.startAt.getTime() + CALENDAR_EVENT_MINUTES * 60_000);
  const description = [show.description, show.watchUrl].filter(Boolean).join('\n\n');
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//livecue//scheduled shows//EN',
    'CALSCALE:GREGORIAN',
    'METHOD:PUBLISH',
    'BEGIN:VEVENT',
    `UID:${show.uid}`,
    `DTSTAMP:${utcStamp(now)}`,
    `LAST-MODIFIED:${utcStamp(show.updatedAt)}`,
    `SEQUENCE:${Math.floor(show.updatedAt.getTime() / 1000)}`,
    `DTSTART:${utcStamp(show.startAt)}`,
    `DTEND:${utcStamp(end)}`,
    `SUMMARY:${escapeText(show.title)}`,
    `DESCRIPTION:${escapeText(description)}`,
    `URL:${show.watchUrl}`,
    'END:VEVENT',
    'END:VCALENDAR',
  ];
  return lines.map(foldLine).join('\r\n') + '\r\n';
}
