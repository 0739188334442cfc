import { useSearch } from 'wouter';

/**
 * Time travel: `?at=<ISO time>` on any page shows the registry as it was then. The value is
 * read from the URL only, so a shared link reproduces exactly what was seen.
 */
export function useAt(): string | null {
  const search = useSearch();
  const at = new URLSearchParams(search).get('at');
  if (!at) return null;
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** A link target that keeps the current `?at=` (so moving between pages stays at that time). */
export function withAt(path: string, at: string | null): string {
  if (!at) return path;
  return `${path}${path.includes('?') ? '&' : '?'}at=${encodeURIComponent(at)}`;
}
