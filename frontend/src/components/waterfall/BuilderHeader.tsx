import type { Builder } from '~/api/types';
import { paths } from '~/router';
import { useCan } from '~/stores/session';
import { BuilderStateBox, LastBuildBox } from './BuilderBoxes';
import { ForceButton } from './ForceButton';

export function BuilderHeader({
  builder,
  runningSince,
}: {
  builder: Builder;
  runningSince?: string;
}) {
  const canForce = useCan('force_build');
  return (
    <div class="builder-head" data-testid="builder-header" data-builder={builder.name}>
      <a class="builder-name" href={paths.builder(builder.name)} title={builder.description ?? ''}>
        {builder.name}
      </a>
      <LastBuildBox builder={builder} />
      <BuilderStateBox builder={builder} runningSince={runningSince} />
      {builder.can_force && canForce && <ForceButton builder={builder.name} />}
    </div>
  );
}
