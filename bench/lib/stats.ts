// Percentiles and formatting shared by the WebRTC bench's measurements and its table.

export interface Stats {
  count: number;
  p50: number;
  p95: number;
  max: number;
}

/** Nearest-rank percentiles; undefined for no values. */
export function stats(values: number[]): Stats | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
  return { count: sorted.length, p50: rank(0.5), p95: rank(0.95), max: sorted[sorted.length - 1]! };
}

export const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS');

export const fmt = (value: number | undefined, digits = 0) => (value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits));

/** "p50 / p95 / max" of a Stats, or a dash. */
export const fmtStats = (s: Stats | undefined, digits = 0) => (s ? `${fmt(s.p50, digits)} / ${fmt(s.p95, digits)} / ${fmt(s.max, digits)}` : '—');

/** Rounds every number of a JSON-able value to `digits` decimals (a Date stays a Date: JSON writes its ISO time). */
export function roundDeep(value: unknown, digits = 3): unknown {
  if (typeof value === 'number') return Number(value.toFixed(digits));
  if (Array.isArray(value)) return value.map((item) => roundDeep(item, digits));
  if (value && typeof value === 'object' && !(value instanceof Date))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, roundDeep(v, digits)]));
  return value;
}
