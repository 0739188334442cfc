import { Link, useLocation, useSearch } from 'wouter';
import { formatUtc, withAtParam } from './time';

/** The notice on a page shown at `?at=`: what time it shows, and the same page now (DESIGN §7). */
export function AtBanner({ at, note }: { at: string | null; note?: string }) {
  const [location] = useLocation();
  const search = useSearch();
  if (!at) return null;
  return (
    <p className="at-banner" role="status">
      Viewing the registry as of <time dateTime={at}>{formatUtc(at)}</time> — <Link href={`${location}${withAtParam(search, null)}`}>back to now</Link>
      {note ? <span className="at-note"> {note}</span> : null}
    </p>
  );
}
