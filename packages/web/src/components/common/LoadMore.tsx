import type { Pages } from '../../use-pages';
import { ApiError } from './ApiError';

/**
 * The "Load more" button under a cursor-paged list (`Load more <what>`), and why the last page
 * could not be read; the first page's error is the list's own to show.
 */
export function LoadMore({ pages, what }: { pages: Pages<unknown>; what?: string }) {
  return (
    <>
      {pages.status === 'ok' && pages.error ? <ApiError error={pages.error} /> : null}
      {pages.status === 'ok' && pages.hasMore && (
        <button type="button" onClick={pages.more} disabled={pages.loadingMore}>
          {pages.loadingMore ? 'Loading…' : what ? `Load more ${what}` : 'Load more'}
        </button>
      )}
    </>
  );
}
