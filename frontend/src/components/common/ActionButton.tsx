import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '~/api/client';

interface Props {
  /** The button's text, e.g. "Pause". */
  label: string;
  /**
   * Takes the action with the reason given (empty when none is asked). A string it resolves
   * with is shown as the server's answer; otherwise `done` is.
   */
  run: (reason: string) => Promise<unknown>;
  /** Ask for a reason first, in a small form (for actions the server records with one). */
  askReason?: boolean;
  /** The reason's starting text. */
  defaultReason?: string;
  /** The reason field's label. */
  reasonLabel?: string;
  /** Refuse to act without a reason. */
  requireReason?: boolean;
  /** The form's submit button, e.g. "Pause linux-1" (default: `label`). */
  confirm?: string;
  /** What the action does, shown above the reason. */
  explain?: string;
  /** Shown once the action was taken, when `run` says nothing. */
  done?: string;
  /** A longer description for the button's tooltip. */
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
 * One action of the API as a button: optionally asks why in a small form first, shows that
 * it is running, then the server's answer or its error in place.
 */
export function ActionButton({
  label,
  run,
  askReason = false,
  defaultReason = '',
  reasonLabel = 'Reason',
  requireReason = false,
  confirm,
  explain,
  done = 'Done',
  title,
  danger = false,
  action,
}: Props) {
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState(defaultReason);
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const input = useRef<HTMLInputElement>(null);
  const wasAsking = useRef(false);
  // Opening the form puts the focus on the reason; closing it, back on the button.
  useEffect(() => {
    if (asking) input.current?.focus();
    else if (wasAsking.current) button.current?.focus();
    wasAsking.current = asking;
  }, [asking]);

  async function go(why: string) {
    setBusy(true);
    setError(null);
    setSaid(null);
    try {
      const answer = await run(why.trim());
      setSaid(typeof answer === 'string' && answer ? answer : done);
      setAsking(false);
      setReason(defaultReason);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  }

  const cls = danger ? 'btn btn-danger' : 'btn';
  const submit = confirm ?? label;
  return (
    <span class="action" data-action={action}>
      {asking ? (
        <form
          class="action-form"
          aria-label={submit}
          onSubmit={(e) => {
            e.preventDefault();
            if (requireReason && !reason.trim()) setError('Say why first.');
            else void go(reason);
          }}
        >
          {explain && <p class="small muted">{explain}</p>}
          <label>
            {reasonLabel}
            <input
              name="reason"
              value={reason}
              required={requireReason}
              placeholder="why (recorded with the action)"
              ref={input}
              onInput={(e) => setReason(e.currentTarget.value)}
              onKeyDown={(e) => {
                if (e.key === 'Escape') setAsking(false);
              }}
            />
          </label>
          <span class="action-buttons">
            <button type="submit" class={cls} disabled={busy}>
              {busy ? `${submit}…` : submit}
            </button>
            <button type="button" class="btn" disabled={busy} onClick={() => setAsking(false)}>
              Cancel
            </button>
          </span>
        </form>
      ) : (
        <button
          type="button"
          ref={button}
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
          {said}
        </span>
      )}
      {error && (
        <span class="error-box small" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
