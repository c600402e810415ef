import { useEffect, useState } from 'preact/hooks';
import { ApiError, apiDelete, apiGet } from '~/api/client';
import { AccessError } from '~/components/common/AccessError';
import { Loading } from '~/components/common/Message';
import { Attributes } from '~/components/users/Attributes';
import { LogoutEverywhere } from '~/components/users/LogoutEverywhere';
import { useAsync } from '~/composables/useAsync';
import type { ViewProps } from '~/lazyView';
import { navigate } from '~/router';
import { can, useSession } from '~/stores/session';

export default function UserPage({ params }: ViewProps) {
  const uid = Number(params.uid);
  const { session } = useSession();
  const me = session?.user?.uid ?? null;
  const { data: user, error } = useAsync(
    (signal) => apiGet('/users/{uid}', { params: { uid }, signal }),
    [uid, me],
  );
  const [deleteError, setDeleteError] = useState<string | null>(null);
  useEffect(() => {
    document.title = `${user?.identifier ?? `User ${params.uid}`} — Cascade`;
  }, [user, params.uid]);

  if (!Number.isInteger(uid)) return <p class="error-box">Bad user id.</p>;
  if (!user) {
    if (error instanceof ApiError && error.status === 404)
      return (
        <section class="page notice">
          <h1>No such user</h1>
          <p>
            There is no user {uid}. <a href="/users">All users</a>
          </p>
        </section>
      );
    return error ? <AccessError error={error} what="see users" /> : <Loading />;
  }

  async function remove() {
    if (!confirm(`Delete user ${user!.identifier}?`)) return;
    try {
      await apiDelete('/users/{uid}', { params: { uid } });
      navigate('/users', true);
    } catch (e) {
      setDeleteError(e instanceof Error ? e.message : String(e));
    }
  }

  return (
    <section class="page user-page">
      <nav class="crumbs">
        <a href="/users">Users</a> › <span>{user.uid}</span>
      </nav>
      <h1>{user.identifier}</h1>
      <dl class="props">
        <div>
          <dt>UID</dt>
          <dd>{user.uid}</dd>
        </div>
        <div>
          <dt>Username</dt>
          <dd>{user.username ?? '—'}</dd>
        </div>
      </dl>
      <h2>Attributes</h2>
      <Attributes attributes={user.attributes} />
      {(can(session, 'manage_users') || me === user.uid) && (
        <>
          <h2>Sessions</h2>
          <p>
            <LogoutEverywhere uid={user.uid} self={me === user.uid} />
          </p>
        </>
      )}
      {can(session, 'manage_users') && (
        <p>
          <button type="button" class="btn" onClick={() => void remove()}>
            Delete user
          </button>
          {deleteError && (
            <span class="error-box small" role="alert">
              {deleteError}
            </span>
          )}
        </p>
      )}
    </section>
  );
}
