import { useState } from 'preact/hooks';
import { ApiError } from '~/api/client';

interface Props {
  /** The button's text. */
  label: string;
  /** Runs the action with the reason given (empty when none is asked); resolves with what to say. */
  run: (reason: string) => Promise<string | void>;
  /** Ask for a reason first (for actions the server records with one). */
  askReason?: boolean;
  /** The reason's starting text. */
  defaultReason?: string;
  /** A longer description for screen readers and the tooltip. */
  title?: string;
  /** Marks a destructive action. */
  danger?: boolean;
  /** `data-action` on the control, for tests and styling. */
  action?: string;
}

function messageOf(e: unknown): string {
  if (e instanceof ApiError) return `${e.message} (${e.status})`;
  return e instanceof Error ? e.message : String(e);
}

/**
 * One action of the API as a button: optionally asks for a reason in a small inline form,
 * shows that it is running, then the server's answer or its error in place.
 */
export function ActionButton({
  label,
  run,
  askReason = false,
  defaultReason = '',
  title,
  danger = false,
  action,
}: Props) {
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState(defaultReason);
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function go(why: string) {
    setBusy(true);
    setError(null);
    setSaid(null);
    try {
      const answer = await run(why.trim());
      setSaid(answer || 'Done');
      setAsking(false);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  const cls = danger ? 'btn btn-danger' : 'btn';
  return (
    <span class="action" data-action={action}>
      {asking ? (
        <form
          class="action-form"
          onSubmit={(e) => {
            e.preventDefault();
            void go(reason);
          }}
        >
          <label>
            Reason
            <input
              name="reason"
              value={reason}
              autoFocus
              onInput={(e) => setReason(e.currentTarget.value)}
            />
          </label>
          <button type="submit" class={cls} disabled={busy}>
            {busy ? `${label}…` : label}
          </button>
          <button type="button" class="btn btn-quiet" onClick={() => setAsking(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <button
          type="button"
          class={cls}
          title={title}
          disabled={busy}
          onClick={() => (askReason ? setAsking(true) : void go(''))}
        >
          {busy ? `${label}…` : label}
        </button>
      )}
      {said && (
        <span class="ok small" role="status">
          {' '}
          {said}
        </span>
      )}
      {error && (
        <span class="error-text small" role="alert">
          {' '}
          {error}
        </span>
      )}
    </span>
  );
}
