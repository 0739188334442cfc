import { Link, useLocation, useSearch } from 'wouter';
import { withoutAt } from './catalog-url';

/** Shown on a page viewed at a past time (`?at=`): what the page shows, and the way back to now. */
export function AtBanner({ at }: { at: string }) {
  const [path] = useLocation();
  const search = useSearch();
  return (
    <p className="at-banner" role="status">
      Viewing the registry as of <time dateTime={at}>{new Date(at).toUTCString()}</time> — <Link href={withoutAt(path, search)}>back to now</Link>
    </p>
  );
}
