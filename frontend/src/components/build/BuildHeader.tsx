import type { BuildDetail } from '~/api/types';
import { StatusBox } from '~/components/results/StatusBox';
import { useNow } from '~/composables/useNow';
import { statusOf } from '~/lib/results';
import { dateTime, elapsed } from '~/lib/time';

export function BuildHeader({ build, owner }: { build: BuildDetail; owner?: string }) {
  const now = useNow(!build.complete);
  const status = statusOf(build);
  const rows: [string, string | null | undefined][] = [
    ['Worker', build.worker],
    ['Reason', build.reason],
    ['Owner', owner],
    ['Started', dateTime(build.started_at)],
    ['Finished', build.finished_at ? dateTime(build.finished_at) : 'running'],
    ['Duration', elapsed(build.started_at, build.finished_at, now)],
    ['Branch', build.branch],
    ['Revision', build.revision],
  ];
  return (
    <header class="build-header">
      <h1>
        {build.builder} <span class="muted">#{build.number}</span>{' '}
        <StatusBox status={status} class="big">
          {build.complete ? status : 'running'}
        </StatusBox>
      </h1>
      <p class="state-text" data-testid="build-state-text">
        {build.state_text}
      </p>
      <dl class="props">
        {rows.map(([k, v]) => (
          // The reason is a sentence: it gets a line of its own.
          <div key={k} class={k === 'Reason' ? 'wide' : undefined}>
            <dt>{k}</dt>
            <dd>{v || '—'}</dd>
          </div>
        ))}
      </dl>
    </header>
  );
}
