import type { Builder } from '~/api/types';
import { paths } from '~/router';
import { BuilderStateBox, LastBuildBox } from './BuilderBoxes';
import { ForceButton } from './ForceButton';

export function BuilderHeader({ builder }: { builder: Builder }) {
  return (
    <div class="builder-head" data-testid="builder-header" data-builder={builder.name}>
      <a class="builder-name" href={paths.builder(builder.name)} title={builder.description ?? ''}>
        {builder.name}
      </a>
      <LastBuildBox builder={builder} />
      <BuilderStateBox builder={builder} />
      {builder.can_force && <ForceButton builder={builder.name} />}
    </div>
  );
}
