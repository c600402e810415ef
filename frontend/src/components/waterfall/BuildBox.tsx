import { pure } from '~/components/common/pure';
import type { BuildDetail } from '~/api/types';
import { LABELS, statusOf, statusStyle, stepStatus } from '~/lib/results';
import { clock, parseTime } from '~/lib/time';
import { paths } from '~/router';

/**
 * One build in the waterfall: a header with number and result, then its steps as coloured
 * cells with their state text and log links, newest step on top (time runs upwards as in the
 * whole waterfall), and at the bottom when it started and where.
 */
function BuildBoxImpl({ build }: { build: BuildDetail }) {
  const status = statusOf(build);
  const href = paths.build(build.builder, build.number);
  const started = parseTime(build.started_at);
  const steps = build.steps.slice().reverse();
  return (
    <div
      class="build-box"
      data-testid="build-box"
      data-builder={build.builder}
      data-build={build.number}
      data-results={status}
      data-branch={build.branch ?? ''}
      data-project={build.project}
      style={{ borderColor: statusStyle(status).borderColor }}
    >
      <a
        class="build-head"
        href={href}
        style={statusStyle(status)}
        title={`${build.builder} #${build.number}: ${build.state_text}`}
      >
        <strong>#{build.number}</strong> {build.complete ? LABELS[status] : build.state_text}
      </a>
      {steps.map((s) => {
        const st = stepStatus(s);
        return (
          <div
            key={s.number}
            class="step-cell"
            style={statusStyle(st)}
            data-step={s.number}
            data-results={st}
            title={`${s.name}: ${s.state_text}`}
          >
            <a class="step-name" href={`${href}#step-${s.number}`}>
              {s.state_text && s.state_text !== 'running' ? s.state_text : s.name}
            </a>
            {s.logs.map((l) => (
              <a
                key={l.slug}
                class="step-log"
                data-log={l.slug}
                href={paths.log(build.builder, build.number, s.number, l.slug)}
              >
                {l.name}
              </a>
            ))}
          </div>
        );
      })}
      <div class="build-start">
        {started != null ? clock(started) : ''}
        {build.worker ? ` · ${build.worker}` : ''}
      </div>
    </div>
  );
}

export const BuildBox = pure(BuildBoxImpl);
