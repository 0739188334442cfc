/**
 * Time-travel arithmetic for the UI, kept free of the DOM so it runs under node --test. Times on
 * the wire and in `?at=` are ISO 8601 UTC; the date-time input shows UTC wall-clock time (the
 * audit trail's times are UTC, and a shared link must mean the same instant for every reader).
 */

/** `2026-03-08T14:32:05.120Z` → `2026-03-08T14:32:05.120`, the value of a UTC datetime-local input. */
export function toUtcInput(iso: string): string {
  return new Date(iso).toISOString().slice(0, 23);
}

/** A datetime-local value read as UTC (`2026-03-08T14:32`, with optional seconds and milliseconds) → ISO, or null when it is not a time. */
export function fromUtcInput(value: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return null;
  const t = Date.parse(`${value}Z`);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** `2026-03-08 14:32:05 UTC` (milliseconds only when not zero): how the UI prints an instant. */
export function formatUtc(iso: string): string {
  const s = new Date(iso).toISOString();
  const ms = s.slice(19, 23);
  return `${s.slice(0, 10)} ${s.slice(11, 19)}${ms === '.000' ? '' : ms} UTC`;
}

/** The query string `search` (without `?`) with `at` set, or removed when null; other parameters keep their order. */
export function withAtParam(search: string, at: string | null): string {
  const params = new URLSearchParams(search);
  if (at === null) params.delete('at');
  else params.set('at', at);
  const out = params.toString();
  return out ? `?${out}` : '';
}

/**
 * The slider's step in milliseconds: about a thousand positions over the trail, never finer than
 * a second, so the arrow keys move by a useful amount on a trail of minutes or of years.
 */
export function sliderStep(min: number, max: number): number {
  return Math.max(1000, Math.ceil((max - min) / 1000 / 1000) * 1000);
}

/**
 * Where the slider sits for `at` on [min, max] (max when `at` is null: now), and back: a
 * position at max means now (no `at`); anything else is that instant.
 */
export function sliderValue(at: string | null, min: number, max: number): number {
  if (at === null) return max;
  return Math.min(max, Math.max(min, Date.parse(at)));
}

export function atFromSlider(value: number, max: number): string | null {
  return value >= max ? null : new Date(value).toISOString();
}
