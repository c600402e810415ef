import { useState } from 'preact/hooks';
import { ApiError, apiPost } from '~/api/client';

const DEFAULT_REASON = 'forced from the web';

interface Fields {
  reason: string;
  branch: string;
  revision: string;
}

/** "Force" starts a build at once; "⋯" opens a small form for reason, branch and revision. */
export function ForceButton({ builder }: { builder: string }) {
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [fields, setFields] = useState<Fields>({
    reason: DEFAULT_REASON,
    branch: '',
    revision: '',
  });

  async function force(f: Fields) {
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      await apiPost(
        '/builders/{name}/force',
        {
          reason: f.reason.trim() || DEFAULT_REASON,
          ...(f.branch.trim() ? { branch: f.branch.trim() } : {}),
          ...(f.revision.trim() ? { revision: f.revision.trim() } : {}),
        },
        { params: { name: builder } },
      );
      setDone(true);
      setOpen(false);
      setTimeout(() => setDone(false), 3000);
    } catch (e) {
      setError(e instanceof ApiError ? `${e.message} (${e.status})` : String(e));
    } finally {
      setBusy(false);
    }
  }

  const input = (key: keyof Fields, label: string) => (
    <label>
      {label}
      <input
        name={key}
        value={fields[key]}
        onInput={(e) => setFields({ ...fields, [key]: e.currentTarget.value })}
      />
    </label>
  );

  return (
    <div class="force" data-builder={builder}>
      <div class="force-buttons">
        <button
          type="button"
          class="btn"
          data-builder={builder}
          disabled={busy}
          onClick={() => void force({ reason: DEFAULT_REASON, branch: '', revision: '' })}
        >
          Force
        </button>
        <button
          type="button"
          class="btn btn-small"
          aria-label={`Force options for ${builder}`}
          aria-expanded={open}
          onClick={() => setOpen(!open)}
        >
          ⋯
        </button>
      </div>
      {open && (
        <form
          class="force-form"
          onSubmit={(e) => {
            e.preventDefault();
            void force(fields);
          }}
        >
          {input('reason', 'Reason')}
          {input('branch', 'Branch')}
          {input('revision', 'Revision')}
          <button type="submit" class="btn" disabled={busy}>
            Force build
          </button>
        </form>
      )}
      {done && (
        <div class="ok small" role="status">
          Build requested
        </div>
      )}
      {error && (
        <div class="error-box small" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
