import { useEffect } from 'preact/hooks';
import { apiGet } from '~/api/client';
import { AccessError } from '~/components/common/AccessError';
import { Loading } from '~/components/common/Message';
import { AddUserForm } from '~/components/users/AddUserForm';
import { Attributes } from '~/components/users/Attributes';
import { LogoutEverywhere } from '~/components/users/LogoutEverywhere';
import { useAsync } from '~/composables/useAsync';
import type { ViewProps } from '~/lazyView';
import { paths } from '~/router';
import { can, useSession } from '~/stores/session';

export default function Users(_: ViewProps) {
  useEffect(() => {
    document.title = 'Users — Cascade';
  }, []);
  const { session } = useSession();
  // Load again when someone logs in or out.
  const me = session?.user?.uid ?? null;
  const manager = can(session, 'manage_users');
  const { data, error, loading, reload } = useAsync((signal) => apiGet('/users', { signal }), [me]);

  if (error && !data) return <AccessError error={error} what="see users" />;
  if (!data) return loading ? <Loading /> : null;
  return (
    <section class="page users-page">
      <h1>Users</h1>
      {data.users.length === 0 ? (
        <p class="muted">No users are known yet.</p>
      ) : (
        <table class="list" data-testid="users">
          <thead>
            <tr>
              <th>UID</th>
              <th>Identifier</th>
              <th>Username</th>
              <th>Attributes</th>
              <th>Sessions</th>
            </tr>
          </thead>
          <tbody>
            {data.users.map((u) => (
              <tr key={u.uid} data-uid={u.uid}>
                <td>
                  <a href={paths.user(u.uid)}>{u.uid}</a>
                </td>
                <td>
                  <a href={paths.user(u.uid)}>{u.identifier}</a>
                </td>
                <td>{u.username ?? <span class="muted">—</span>}</td>
                <td>
                  <Attributes attributes={u.attributes} />
                </td>
                <td>
                  {(manager || u.uid === me) && (
                    <LogoutEverywhere uid={u.uid} self={u.uid === me} />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {manager && <AddUserForm onAdded={reload} />}
    </section>
  );
}
