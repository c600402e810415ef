import type { Builder } from '~/api/types';
import { Eta } from '~/components/results/Eta';
import { StatusBox } from '~/components/results/StatusBox';
import { statusOf, type Status } from '~/lib/results';
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
        #{last.number} {last.state_text || status}
      </StatusBox>
    </a>
  );
}

const STATE_STATUS: Record<Builder['state'], Status> = {
  building: 'running',
  idle: 'idle',
  offline: 'offline',
  paused: 'paused',
};

/**
 * What the builder is doing (0.8.9's "Activity" box): building (with the ETA of the build
 * started first, given `runningSince`), idle, offline or paused, and how many requests wait.
 */
export function BuilderStateBox({
  builder,
  runningSince,
}: {
  builder: Builder;
  runningSince?: string;
}) {
  const status = STATE_STATUS[builder.state];
  return (
    <StatusBox status={status} title={builder.state} class="activity">
      {builder.state}
      {builder.state === 'building' && runningSince && (
        <>
          {' '}
          <Eta startedAt={runningSince} average={builder.average_duration} />
        </>
      )}
      {builder.pending > 0 && ` · ${builder.pending} pending`}
    </StatusBox>
  );
}
