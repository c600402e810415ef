import { apiPost } from '~/api/client';
import { ActionButton } from '~/components/common/ActionButton';
import { refreshSession } from '~/stores/session';

interface Props {
  /** The user whose sessions end. */
  uid: number;
  /** Whether that user is the one logged in here (whose own session ends too). */
  self: boolean;
}

/** Ends every session of a user, in every browser; for themselves or for a user manager. */
export function LogoutEverywhere({ uid, self }: Props) {
  return (
    <ActionButton
      label="Log out everywhere"
      action="logout-everywhere"
      title={
        self
          ? 'End all your sessions, in every browser, this one included'
          : 'End all of this user’s sessions, in every browser'
      }
      danger
      run={async () => {
        const answer = await apiPost('/users/{uid}/logout', undefined, { params: { uid } });
        if (self) await refreshSession();
        return answer.message;
      }}
    />
  );
}
