import type { AuditEvent } from '@berth/core';

/** The audit page's filters, as its URL carries them (so a filtered timeline is a link to share). */
export interface AuditFilters {
  model: string;
  action: string;
  actor: string;
  /** ISO times; empty when not set. */
  since: string;
  until: string;
}

const KEYS = ['model', 'action', 'actor', 'since', 'until'] as const;

export function filtersFrom(search: string): AuditFilters {
  const p = new URLSearchParams(search);
  const f: AuditFilters = { model: '', action: '', actor: '', since: '', until: '' };
  for (const k of KEYS) f[k] = (p.get(k) ?? '').trim();
  return f;
}

/** The query string for `filters`, keeping `at` (time travel) and dropping empty filters. */
export function searchFor(filters: AuditFilters, at: string | null): string {
  const p = new URLSearchParams();
  for (const k of KEYS) if (filters[k]) p.set(k, filters[k]);
  if (at) p.set('at', at);
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * What to ask the server for: the filters, with the trail cut at `at` when the page shows the
 * past (events after then had not happened; `until` is exclusive, so an event at `at` is kept).
 */
export function auditQuery(f: AuditFilters, at: string | null) {
  let until = f.until || undefined;
  if (at) {
    const cut = new Date(Date.parse(at) + 1).toISOString();
    if (!until || Date.parse(until) > Date.parse(cut)) until = cut;
  }
  return {
    ...(f.model ? { model: f.model } : {}),
    ...(f.action ? { action: f.action } : {}),
    ...(f.actor ? { actor: f.actor } : {}),
    ...(f.since ? { since: f.since } : {}),
    ...(until ? { until } : {}),
  };
}

function versionOf(v: unknown): number | null | undefined {
  if (v === null) return null;
  if (typeof v === 'object' && v !== null && 'version' in v && typeof v.version === 'number') return v.version;
  return undefined;
}

/** A one-line account of what an event changed, where its before/after say it plainly (alias moves: `1 → 2`). */
export function changeOf(e: Pick<AuditEvent, 'before' | 'after'>): string | null {
  const from = versionOf(e.before);
  const to = versionOf(e.after);
  if (typeof from !== 'number' && typeof to !== 'number') return null;
  const v = (n: number | null | undefined) => (n === null || n === undefined ? 'none' : `version ${n}`);
  return `${v(from)} → ${v(to)}`;
}
