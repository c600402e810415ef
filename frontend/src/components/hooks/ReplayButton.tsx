import { useState } from 'preact/hooks';
import { apiPost } from '~/api/client';
import { navigate, paths } from '~/router';

/** Runs delivery `id` through its dialect again, then opens the new delivery's page. */
export function ReplayButton({ id }: { id: number }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function replay() {
    setBusy(true);
    setError(null);
    try {
      const replayed = await apiPost('/hooks/deliveries/{id}/replay', undefined, {
        params: { id },
      });
      navigate(paths.hook(replayed.id));
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  }
  return (
    <p>
      <button
        type="button"
        class="btn"
        disabled={busy}
        title="Run this request through its dialect again, recorded as a new delivery"
        onClick={() => void replay()}
      >
        Replay
      </button>
      {error && (
        <span class="error-box small" role="alert">
          {error}
        </span>
      )}
    </p>
  );
}
