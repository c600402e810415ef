import { useEffect, useState } from 'preact/hooks';
import { Loading } from '~/components/common/Message';
import type { ViewProps } from '~/lazyView';
import { isServerPath, navigate, safeNext } from '~/router';
import { logIn, useSession, userName } from '~/stores/session';

function go(next: string): void {
  if (isServerPath(new URL(next, location.origin).pathname)) location.assign(next);
  else navigate(next, true);
}

export default function Login({ query }: ViewProps) {
  const next = safeNext(query.get('next'));
  const { session, loaded } = useSession();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    document.title = 'Log in — Cascade';
  }, []);

  async function submit() {
    setBusy(true);
    setError(null);
    try {
      await logIn(username, password);
      go(next);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  }

  if (!loaded) return <Loading />;
  let body;
  const name = userName(session);
  if (name) {
    body = (
      <p>
        You are logged in as <strong>{name}</strong>. <a href={next}>Continue</a>
      </p>
    );
  } else if (session && !session.password_login) {
    body = session.login_url ? (
      <p>
        This master logs people in through a single sign-on page, not with a password here.{' '}
        <a href={session.login_url} data-native="">
          Log in there
        </a>
      </p>
    ) : (
      <p>Logging in is not set up on this master.</p>
    );
  } else {
    body = (
      <form
        class="form"
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <label>
          Username
          <input
            name="username"
            autocomplete="username"
            required
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <div class="error-box" role="alert">
            {error}
          </div>
        )}
        <button type="submit" class="btn" disabled={busy}>
          Log in
        </button>
      </form>
    );
  }
  return (
    <section class="page notice login-page">
      <h1>Log in</h1>
      {body}
    </section>
  );
}
