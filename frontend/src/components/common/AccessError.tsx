import { ApiError } from '~/api/client';
import { loginHref, useSession, userName } from '~/stores/session';
import { ErrorMessage } from './Message';

/** An API error; a 401 or 403 says so plainly and offers a login link to anonymous users. */
export function AccessError({ error, what }: { error: Error; what: string }) {
  const { session } = useSession();
  if (!(error instanceof ApiError) || (error.status !== 401 && error.status !== 403))
    return <ErrorMessage error={error} />;
  const href = userName(session) ? null : loginHref(session, location.pathname + location.search);
  return (
    <section class="page notice" role="alert">
      <h1>{error.status === 401 ? `You need to log in to ${what}` : 'Not allowed'}</h1>
      <p class="muted">{error.message}</p>
      {href && (
        <p>
          <a href={href} data-native={session?.login_url ? '' : undefined}>
            Log in
          </a>
        </p>
      )}
    </section>
  );
}
