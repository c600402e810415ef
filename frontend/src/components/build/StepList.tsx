import type { BuildDetail } from '~/api/types';
import { StatusBox } from '~/components/results/StatusBox';
import { stepStatus } from '~/lib/results';
import { elapsed } from '~/lib/time';
import { paths } from '~/router';

export function StepList({ build, now }: { build: BuildDetail; now: number }) {
  if (build.steps.length === 0) return <p class="muted">No steps yet.</p>;
  return (
    <ol class="steps">
      {build.steps.map((s) => {
        const st = stepStatus(s);
        return (
          <li key={s.number} id={`step-${s.number}`} data-step={s.number} data-results={st}>
            <StatusBox status={st} class="step-status">
              {s.number}
            </StatusBox>
            <a class="step-title" href={paths.step(build.builder, build.number, s.number)}>
              {s.name}
            </a>
            <span class="step-state">{s.state_text}</span>
            <span class="step-time muted">
              {s.started_at ? elapsed(s.started_at, s.finished_at, now) : ''}
            </span>
            <span class="step-logs">
              {s.logs.map((l) => (
                <a
                  key={l.slug}
                  href={paths.log(build.builder, build.number, s.number, l.slug)}
                  data-log={l.slug}
                >
                  {l.name}
                  <span class="muted small"> ({l.num_lines})</span>
                </a>
              ))}
            </span>
          </li>
        );
      })}
    </ol>
  );
}
