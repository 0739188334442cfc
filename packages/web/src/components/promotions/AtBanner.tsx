import { Link, useLocation, useSearch } from 'wouter';

/** The banner of a page shown as of a past time (`?at=`): read-only, with the way back to now. */
export function AtBanner({ at, note }: { at: string; note?: string }) {
  const [path] = useLocation();
  const params = new URLSearchParams(useSearch());
  params.delete('at');
  const rest = params.toString();
  return (
    <p className="at-banner" role="status">
      Viewing the registry as of {at} — <Link href={rest ? `${path}?${rest}` : path}>back to now</Link>
      {note ? <span className="at-note"> {note}</span> : null}
    </p>
  );
}
