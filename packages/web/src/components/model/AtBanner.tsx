import { Link, useLocation, useSearch } from 'wouter';

/** The read-only banner of time travel: what time the page shows, and a link to the same page now. */
export function AtBanner({ at }: { at: string }) {
  const [path] = useLocation();
  const params = new URLSearchParams(useSearch());
  params.delete('at');
  const rest = params.toString();
  return (
    <p className="at-banner" role="status">
      Viewing the registry as of <time dateTime={at}>{at.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}</time> —{' '}
      <Link href={rest ? `${path}?${rest}` : path}>back to now</Link>
    </p>
  );
}
