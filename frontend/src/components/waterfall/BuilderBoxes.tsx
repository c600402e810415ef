import type { Builder } from '~/api/types';
import { StatusBox } from '~/components/results/StatusBox';
import { statusOf } from '~/lib/results';
import { paths } from '~/router';

/** The builder's last finished build, coloured by its result (0.8.9's "LastBuild" box). */
export function LastBuildBox({ builder }: { builder: Builder }) {
  const last = builder.last_build;
  if (!last) return <StatusBox status="start">no builds</StatusBox>;
  const status = statusOf(last);
  return (
    <a
      class="box-link"
      href={paths.build(last.builder, last.number)}
      data-testid="last-build"
      data-build={last.number}
    >
      <StatusBox status={status} title={`#${last.number}: ${last.state_text || status}`}>
        #{last.number} {status}
      </StatusBox>
    </a>
  );
}

/** What the builder is doing (0.8.9's "Activity" box). */
export function BuilderStateBox({ builder }: { builder: Builder }) {
  const status =
    builder.state === 'building' ? 'running' : builder.state === 'offline' ? 'offline' : 'idle';
  return (
    <StatusBox status={status} title={`${builder.state}`} class="activity">
      {builder.state}
      {builder.pending > 0 && ` · ${builder.pending} pending`}
    </StatusBox>
  );
}
