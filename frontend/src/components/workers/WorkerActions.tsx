import { apiPost } from '~/api/client';
import type { Worker } from '~/api/types';
import { ActionButton } from '~/components/common/ActionButton';
import { useSession, can } from '~/stores/session';

/** Whether the session may take any action on workers (so a page can drop the column). */
export function useWorkerActions(): { pause: boolean; shutdown: boolean } {
  const { session } = useSession();
  return { pause: can(session, 'pause_worker'), shutdown: can(session, 'graceful_shutdown') };
}

/** Pause or unpause a worker, or shut it down once its builds finish: for those allowed. */
export function WorkerActions({ worker }: { worker: Worker }) {
  const allowed = useWorkerActions();
  const params = { params: { name: worker.name } };
  const pause = (reason: string) => apiPost('/workers/{name}/pause', { reason }, params);
  const unpause = (reason: string) => apiPost('/workers/{name}/unpause', { reason }, params);
  const shutdown = (reason: string) => apiPost('/workers/{name}/shutdown', { reason }, params);
  return (
    <div class="worker-actions" data-worker={worker.name}>
      {allowed.pause &&
        (worker.paused ? (
          <ActionButton
            askReason
            key="unpause"
            label="Unpause"
            confirm={`Unpause ${worker.name}`}
            explain="It takes new builds again."
            run={unpause}
            done="Unpaused"
          />
        ) : (
          <ActionButton
            askReason
            key="pause"
            label="Pause"
            confirm={`Pause ${worker.name}`}
            explain="It finishes its builds and takes no new ones until unpaused."
            run={pause}
            done="Paused"
          />
        ))}
      {allowed.shutdown && worker.connected && !worker.graceful && (
        <ActionButton
          askReason
          label="Graceful shutdown"
          confirm={`Shut ${worker.name} down`}
          explain="It finishes its running builds, takes no new ones, then disconnects."
          run={shutdown}
          done="Shutting down"
          danger
        />
      )}
    </div>
  );
}
