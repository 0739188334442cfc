import { type FormEvent, useEffect, useId, useState } from 'react';
import { useLocation, useSearch } from 'wouter';
import { client } from '../../api';
import { useAt } from '../../at';
import { useQuery } from '../../use-query';
import { atFromSlider, formatUtc, fromUtcInput, sliderStep, sliderValue, toUtcInput, withAtParam } from './time';

/** How long the slider rests before the page follows it: one fetch per pause, not one per pixel dragged. */
const SETTLE_MS = 250;

/**
 * The time slider in the shell's header: a range over the audit trail (its first event … now)
 * and a UTC date-time field. Either sets `?at=` on the page that is open, which then shows the
 * registry as it was; the right end of the range is now (no `at`).
 */
export function TimeSlider() {
  const at = useAt();
  const [location, navigate] = useLocation();
  const search = useSearch();
  const [now] = useState(() => Date.now());
  const first = useQuery(async () => (await client().listAudit({ limit: 1 })).items[0]?.at ?? null, []);
  const min = first.status === 'ok' && first.data ? Date.parse(first.data) : null;
  const [dragged, setDragged] = useState<number | null>(null);
  const [typed, setTyped] = useState(at ? toUtcInput(at) : '');
  const [invalid, setInvalid] = useState(false);
  const rangeId = useId();
  const inputId = useId();

  const go = (next: string | null) => navigate(`${location}${withAtParam(search, next)}`);

  useEffect(() => {
    setTyped(at ? toUtcInput(at) : '');
    setDragged(null);
  }, [at]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: only a new slider position starts a wait; go reads the latest URL
  useEffect(() => {
    if (dragged === null) return;
    const timer = setTimeout(() => go(atFromSlider(dragged, top)), SETTLE_MS);
    return () => clearTimeout(timer);
  }, [dragged]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const next = fromUtcInput(typed);
    setInvalid(next === null);
    if (next !== null) go(next);
  };

  // The right end sits on the step grid, or the browser would snap "now" to the step below it.
  const step = min === null ? 1000 : sliderStep(min, now);
  const top = min === null ? now : min + Math.ceil((now - min) / step) * step;
  const value = dragged ?? (min === null ? top : sliderValue(at, min, top));
  return (
    <form className="time-slider" onSubmit={submit} aria-label="Time travel">
      {min !== null && min < now && (
        <span className="time-slider-range">
          <label htmlFor={rangeId}>Registry as of</label>
          <input
            id={rangeId}
            type="range"
            min={min}
            max={top}
            step={step}
            value={value}
            aria-valuetext={atFromSlider(value, top) === null ? 'now' : formatUtc(new Date(value).toISOString())}
            onChange={(e) => setDragged(Number(e.target.value))}
          />
        </span>
      )}
      <label htmlFor={inputId}>Time (UTC)</label>
      <input id={inputId} type="datetime-local" step="0.001" value={typed} aria-invalid={invalid || undefined} onChange={(e) => setTyped(e.target.value)} />
      <button type="submit">Go</button>
      {at && (
        <button type="button" onClick={() => go(null)}>
          Now
        </button>
      )}
      {invalid && (
        <span role="alert" className="time-slider-error">
          Give a date and time
        </span>
      )}
    </form>
  );
}
