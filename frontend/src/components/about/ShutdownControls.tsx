import { apiPost } from '~/api/client';
import type { Master } from '~/api/types';
import { ActionButton } from '~/components/common/ActionButton';

type Mode = 'start' | 'stop' | 'now';

const shutdown = (mode: Mode) => (reason: string) => apiPost('/master/shutdown', { mode, reason });

/** The master's clean shutdown: start it, cancel it, or exit now. For those allowed. */
export function ShutdownControls({ master }: { master: Master }) {
  return (
    <div class="shutdown-controls" data-testid="shutdown-controls">
      {master.shutting_down ? (
        <ActionButton
          askReason
          key="cancel"
          label="Cancel shutdown"
          confirm="Cancel the clean shutdown"
          explain="The master takes new builds again and keeps running."
          run={shutdown('stop')}
          done="Shutdown cancelled"
        />
      ) : (
        <ActionButton
          askReason
          key="start"
          label="Clean shutdown"
          confirm="Start a clean shutdown"
          explain="The master takes no new builds, finishes the running ones, then exits."
          run={shutdown('start')}
          done="Shutting down once idle"
        />
      )}
      <ActionButton
        askReason
        label="Shut down now"
        confirm="Exit now"
        explain="The master exits at once; running builds end as retry and run again after a restart."
        run={shutdown('now')}
        done="Exiting"
        danger
      />
    </div>
  );
}
