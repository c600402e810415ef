import { useState } from 'preact/hooks';
import { paths } from '~/router';
import { logOut, loginHref, useSession, userName } from '~/stores/session';

/** The top bar's "Log in" link, or the user's name and "Log out". */
export function SessionControl({ here }: { here: string }) {
  const { session } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const name = userName(session);

  if (name) {
    const out = async () => {
      setBusy(true);
      setError(null);
      try {
        await logOut();
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      } finally {
        setBusy(false);
      }
    };
    return (
      <span class="session" data-testid="session">
        {session?.user ? (
          <a class="session-user" href={paths.user(session.user.uid)}>
            {name}
          </a>
        ) : (
          <span class="session-user">{name}</span>
        )}
        <button type="button" class="btn btn-small" disabled={busy} onClick={() => void out()}>
          Log out
        </button>
        {error && (
          <span class="error-text small" role="alert">
            {error}
          </span>
        )}
      </span>
    );
  }
  const href = loginHref(session ?? null, here);
  if (!href || here.startsWith('/login')) return null;
  return (
    <span class="session" data-testid="session">
      <a href={href} data-native={session?.login_url ? '' : undefined}>
        Log in
      </a>
    </span>
  );
}
