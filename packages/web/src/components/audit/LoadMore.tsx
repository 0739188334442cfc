import type { Pages } from './use-pages';

/** The "Load more" button under a cursor-paged list, and the error of its last page. */
export function LoadMore({ pages, what }: { pages: Pages<unknown>; what: string }) {
  return (
    <>
      {pages.status === 'error' && pages.items.length > 0 && (
        <p role="alert" className="error">
          {pages.error?.message}
        </p>
      )}
      {pages.hasMore && (
        <button type="button" onClick={pages.more} disabled={pages.loadingMore}>
          {pages.loadingMore ? 'Loading…' : `Load more ${what}`}
        </button>
      )}
    </>
  );
}
