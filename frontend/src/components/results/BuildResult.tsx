import type { Build } from '~/api/types';
import { LABELS, statusOf } from '~/lib/results';
import { paths } from '~/router';
import { StatusBox } from './StatusBox';

/** A build's result box with its state text ("failed test"), linked to the build's page. */
export function BuildResult({ build }: { build: Build }) {
  const status = statusOf(build);
  return (
    <a
      class="box-link"
      href={paths.build(build.builder, build.number)}
      data-testid="build-result"
      data-results={status}
    >
      <StatusBox status={status} title={`${build.builder} #${build.number}: ${LABELS[status]}`}>
        {build.state_text || LABELS[status]}
      </StatusBox>
    </a>
  );
}
