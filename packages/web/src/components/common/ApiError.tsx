import { useEffect } from 'react';
import { noticeError } from '../auth/use-whoami';

/** An API error in the page, in the server's words; a 401 also brings up the sign-in form. */
export function ApiError({ error }: { error: Error | null }) {
  useEffect(() => {
    if (error) noticeError(error);
  }, [error]);
  return (
    <p className="error" role="alert">
      {error ? error.message : null}
    </p>
  );
}
