import { useState } from 'preact/hooks';
import { apiPost } from '~/api/client';

const EMPTY = { identifier: '', username: '', password: '' };

/** For users with `manage_users`: add a user (the username and password are optional). */
export function AddUserForm({ onAdded }: { onAdded: () => void }) {
  const [fields, setFields] = useState(EMPTY);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function add() {
    setBusy(true);
    setError(null);
    try {
      await apiPost('/users', {
        identifier: fields.identifier.trim(),
        ...(fields.username.trim() ? { username: fields.username.trim() } : {}),
        ...(fields.password ? { password: fields.password } : {}),
      });
      setFields(EMPTY);
      onAdded();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  const set = (key: keyof typeof EMPTY) => (e: { currentTarget: HTMLInputElement }) =>
    setFields({ ...fields, [key]: e.currentTarget.value });

  return (
    <>
      <h2>Add a user</h2>
      <form
        class="form inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <label>
          Identifier
          <input name="identifier" required value={fields.identifier} onInput={set('identifier')} />
        </label>
        <label>
          Login name
          <input
            name="username"
            autocomplete="off"
            value={fields.username}
            onInput={set('username')}
          />
        </label>
        <label>
          Login password
          <input
            name="password"
            type="password"
            autocomplete="new-password"
            value={fields.password}
            onInput={set('password')}
          />
        </label>
        <button type="submit" class="btn" disabled={busy}>
          Add user
        </button>
      </form>
      {error && (
        <div class="error-box" role="alert">
          {error}
        </div>
      )}
    </>
  );
}
