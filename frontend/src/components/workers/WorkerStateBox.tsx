import type { Worker } from '~/api/types';
import { StatusBox } from '~/components/results/StatusBox';
import { workerState } from '~/lib/workers';

/** A worker's state in a coloured box: offline, idle, building, paused or shutting down. */
export function WorkerStateBox({ worker }: { worker: Worker }) {
  const { status, label } = workerState(worker);
  return (
    <StatusBox status={status} class="worker-state" title={label}>
      <span data-state={label}>{label}</span>
    </StatusBox>
  );
}
