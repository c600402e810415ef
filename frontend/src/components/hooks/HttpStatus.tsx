import { StatusBox } from '~/components/results/StatusBox';
import { CLASS_STATUS, statusClass } from '~/lib/hooks';

/** The HTTP status a delivery was answered, coloured by its class (2xx, 4xx, 5xx…). */
export function HttpStatus({ status }: { status: number }) {
  const cls = statusClass(status);
  return (
    <span class="http-status" data-status={status} data-status-class={cls}>
      <StatusBox status={CLASS_STATUS[cls]} title={`HTTP ${status} (${cls})`}>
        {status}
      </StatusBox>
    </span>
  );
}
