// The caller's session: who is logged in and which actions they may take. Fetched on first use,
// after login and logout, and whenever an API answer says the session went stale.
import { useEffect, useState } from 'preact/hooks';
import { apiPost, apiGet, setAuthHooks } from '~/api/client';
import type { Session } from '~/api/types';
import { reconnect } from './eventStream';

/** The authz action keys of `Session.actions`. */
export type ActionKey =
  | 'view'
  | 'force_build'
  | 'force_all_builds'
  | 'ping_builder'
  | 'graceful_shutdown'
  | 'pause_worker'
  | 'stop_build'
  | 'stop_all_builds'
  | 'cancel_pending_build'
  | 'cancel_all_pending_builds'
  | 'stop_change'
  | 'clean_shutdown'
  | 'show_users_page'
  | 'manage_users'
  | 'hook_deliveries'
  | 'manage_outbox'
  | 'reconfig';

export interface SessionState {
  /** The last session the server sent; null before the first answer or if it never came. */
  session: Session | null;
  /** Whether the first fetch has ended (either way). */
  loaded: boolean;
}

let state: SessionState = { session: null, loaded: false };
const subscribers = new Set<(s: SessionState) => void>();
let inFlight: Promise<Session | null> | null = null;

/** The logged-in user's name, or null for anonymous callers. */
export function userName(session: Session | null | undefined): string | null {
  return session?.username ?? null;
}

function update(next: SessionState): void {
  const changedUser = state.loaded && userName(state.session) !== userName(next.session);
  state = next;
  for (const s of subscribers) s(state);
  // The event stream was opened as the previous user: reopen it as the new one.
  if (changedUser) reconnect();
}

export function getSession(): SessionState {
  return state;
}

export function setSession(session: Session): void {
  update({ session, loaded: true });
}

/** Fetch the session again (deduplicated while in flight); on failure keep the last one. */
export function refreshSession(): Promise<Session | null> {
  inFlight ??= apiGet('/session')
    .then(
      (s) => {
        setSession(s);
        return s;
      },
      () => {
        update({ ...state, loaded: true });
        return state.session;
      },
    )
    .finally(() => {
      inFlight = null;
    });
  return inFlight;
}

export async function logIn(username: string, password: string): Promise<Session> {
  const session = await apiPost('/login', { username, password });
  setSession(session);
  return session;
}

export async function logOut(): Promise<void> {
  try {
    await apiPost('/logout', undefined);
  } finally {
    await refreshSession();
  }
}

/** Whether the session allows `action` (never before the session is known). */
export function can(session: Session | null | undefined, action: ActionKey): boolean {
  return session?.actions[action] === true;
}

/** Where "Log in" leads from `here`: the SSO page, the login form, or nowhere. */
export function loginHref(session: Session | null, here: string): string | null {
  if (!session) return null;
  if (session.login_url) return session.login_url;
  if (!session.password_login) return null;
  return here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}

export function useSession(): SessionState {
  const [value, setValue] = useState(state);
  useEffect(() => {
    subscribers.add(setValue);
    setValue(state);
    if (!state.loaded) void refreshSession();
    return () => {
      subscribers.delete(setValue);
    };
  }, []);
  return value;
}

/** Whether the current session allows `action`; re-renders when the session changes. */
export function useCan(action: ActionKey): boolean {
  return can(useSession().session, action);
}

setAuthHooks({
  csrfToken: () => state.session?.csrf_token ?? null,
  onStaleSession: () => void refreshSession(),
});
