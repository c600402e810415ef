import { useState } from 'preact/hooks';
import { ApiError, apiPost } from '~/api/client';
import { DEFAULT_REASON, ForceForm } from '~/components/build/ForceForm';

/** "Force" starts a build at once; "⋯" opens the full force form. */
export function ForceButton({ builder }: { builder: string }) {
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  async function force() {
    setBusy(true);
    setError(null);
    setDone(false);
    try {
      await apiPost(
        '/builders/{name}/force',
        { reason: DEFAULT_REASON },
        { params: { name: builder } },
      );
      setDone(true);
      setTimeout(() => setDone(false), 3000);
    } catch (e) {
      setError(e instanceof ApiError ? `${e.message} (${e.status})` : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="force" data-builder={builder}>
      <div class="force-buttons">
        <button
          type="button"
          class="btn"
          data-builder={builder}
          disabled={busy}
          onClick={() => void force()}
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
        <ForceForm
          builder={builder}
          onForced={() => {
            setOpen(false);
            setDone(true);
          }}
        />
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
