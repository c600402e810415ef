import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '~/api/client';
import './reasonAction.css';

interface Props {
  /** The button that opens the form, e.g. "Pause". */
  label: string;
  /** The button that takes the action, e.g. "Pause linux-1". */
  confirm: string;
  /** What the action does, shown above the reason. */
  explain?: string;
  /** Takes the action with the reason given. */
  run: (reason: string) => Promise<unknown>;
  /** Shown for a moment once the action was taken. */
  done?: string;
  /** A destructive action: its confirm button says so. */
  danger?: boolean;
}

/**
 * An action the server records with a reason: the button opens a small form asking why,
 * and the action is taken only from there.
 */
export function ReasonAction({ label, confirm, explain, run, done, danger }: Props) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [ok, setOk] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);
  useEffect(() => {
    if (!ok) return;
    const t = setTimeout(() => setOk(false), 3000);
    return () => clearTimeout(t);
  }, [ok]);

  async function submit() {
    setBusy(true);
    setError(null);
    try {
      await run(reason.trim());
      setOpen(false);
      setReason('');
      setOk(true);
    } catch (e) {
      setError(e instanceof ApiError ? `${e.message} (${e.status})` : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="reason-action">
      {!open && (
        <button type="button" class="btn" onClick={() => setOpen(true)}>
          {label}
        </button>
      )}
      {open && (
        <form
          class="reason-form"
          aria-label={confirm}
          onSubmit={(e) => {
            e.preventDefault();
            void submit();
          }}
        >
          {explain && <p class="small muted">{explain}</p>}
          <label>
            Reason
            <input
              ref={input}
              name="reason"
              value={reason}
              placeholder="why (recorded with the action)"
              onInput={(e) => setReason(e.currentTarget.value)}
            />
          </label>
          <span class="reason-buttons">
            <button type="submit" class={`btn ${danger ? 'btn-danger' : ''}`} disabled={busy}>
              {confirm}
            </button>
            <button type="button" class="btn" disabled={busy} onClick={() => setOpen(false)}>
              Cancel
            </button>
          </span>
        </form>
      )}
      {ok && done && (
        <span class="ok small" role="status">
          {done}
        </span>
      )}
      {error && (
        <div class="error-box small" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}
