import { invalid } from './errors.js';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Parses a point in time given as an ISO 8601 timestamp with a zone (`2026-03-08T14:32:00Z`),
 * a date (`2026-03-08`, taken as UTC midnight) or epoch milliseconds. Returns epoch ms.
 */
export function parseInstant(value: unknown, field = 'time'): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const s = value.trim();
    if (/^\d{1,15}$/.test(s)) return Number(s);
    if (DATE_ONLY.test(s) || ISO.test(s)) {
      const ms = Date.parse(DATE_ONLY.test(s) ? `${s}T00:00:00Z` : s);
      // Date.parse rolls 2026-02-30 over into March: the calendar date must exist as written.
      // Both patterns start with YYYY-MM-DD.
      const [y, mo, d] = [Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8, 10))];
      const day = new Date(Date.UTC(y, mo - 1, d));
      if (Number.isFinite(ms) && day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d) return ms;
    }
  }
  throw invalid(
    `invalid ${field} ${JSON.stringify(value)}: use an ISO 8601 time with a zone (2026-03-08T14:32:00Z), a date (2026-03-08) or epoch milliseconds`,
    {
      field,
    },
  );
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
