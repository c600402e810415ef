import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, apiPost } from '~/api/client';

/**
 * "Stop builds of this change": asks why, then cancels the change's pending build requests
 * and stops its running builds; the server's answer says how many of each.
 */
export function StopChangeButton({ change }: { change: number }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const wasOpen = useRef(false);
  // Opening the form puts the focus on the reason; closing it, back on the button.
  useEffect(() => {
    if (open) input.current?.focus();
    else if (wasOpen.current) button.current?.focus();
    wasOpen.current = open;
  }, [open]);

  async function stop(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const r = await apiPost(
        '/changes/{id}/stop',
        { reason: reason.trim() },
        { params: { id: change } },
      );
      setMessage(r.message);
      setOpen(false);
      setReason('');
    } catch (err) {
      setError(err instanceof ApiError ? `${err.message} (${err.status})` : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="stop-change" data-testid="stop-change">
      {open ? (
        <form class="inline-form form" onSubmit={(e) => void stop(e)} aria-label="Stop builds">
          <label>
            Why stop them?
            <input
              name="reason"
              value={reason}
              required
              ref={input}
              onInput={(e) => setReason(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') setOpen(false);
              }}
            />
          </label>
          <button type="submit" class="btn" disabled={busy}>
            {busy ? 'Stopping…' : 'Stop builds'}
          </button>
          <button type="button" class="btn" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <button type="button" class="btn" ref={button} onClick={() => setOpen(true)}>
          Stop builds of this change
        </button>
      )}
      {message && (
        <p class="ok small" role="status">
          {message}
        </p>
      )}
      {error && (
        <p class="error-box small" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
