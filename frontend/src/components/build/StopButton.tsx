import { useState } from 'preact/hooks';
import { apiPost } from '~/api/client';

/** "Stop" for a running build: it then ends `cancelled`. */
export function StopButton({ builder, number }: { builder: string; number: number }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function stop() {
    setBusy(true);
    setError(null);
    try {
      await apiPost(
        '/builders/{name}/builds/{number}/stop',
        { reason: 'stopped from the web' },
        { params: { name: builder, number } },
      );
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  }

  return (
    <span class="stop">
      <button type="button" class="btn" disabled={busy} onClick={() => void stop()}>
        {busy ? 'Stopping…' : 'Stop'}
      </button>
      {error && (
        <span class="error-text small" role="alert">
          {' '}
          {error}
        </span>
      )}
    </span>
  );
}
