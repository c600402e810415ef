import type { BuildDetail } from '~/api/types';
import { useNow } from '~/composables/useNow';
import { LABELS, statusOf, statusStyle, stepStatus } from '~/lib/results';
import { dateTime, elapsed } from '~/lib/time';
import { paths } from '~/router';

/** Links leave the frame when the page is shown inside one (a tooltip or an iframe). */
function frameTarget(): string | undefined {
  try {
    return window.top !== window.self ? '_top' : undefined;
  } catch {
    return '_top';
  }
}

/**
 * One build as a box: its result and state text on top, then each step in order coloured by
 * its result, with its state text, time and logs, and at the bottom when and where it ran.
 */
export function BuildStatusBox({ build }: { build: BuildDetail }) {
  const now = useNow(!build.complete);
  const status = statusOf(build);
  const href = paths.build(build.builder, build.number);
  const target = frameTarget();
  return (
    <div
      class="build-box buildstatus"
      data-testid="buildstatus"
      data-builder={build.builder}
      data-build={build.number}
      data-results={status}
      style={{ borderColor: statusStyle(status).borderColor }}
    >
      <a
        class="build-head"
        href={href}
        target={target}
        style={statusStyle(status)}
        title={`${build.builder} #${build.number}: ${LABELS[status]}`}
      >
        <strong>
          {build.builder} #{build.number}
        </strong>{' '}
        <span data-testid="build-state-text">{build.state_text || LABELS[status]}</span>
      </a>
      {build.steps.length === 0 && <div class="step-cell muted">No steps yet.</div>}
      {build.steps.map((s) => {
        const st = stepStatus(s);
        return (
          <div
            key={s.number}
            class="step-cell"
            style={statusStyle(st)}
            data-step={s.number}
            data-results={st}
          >
            <a
              class="step-name"
              title={s.state_text}
              href={`${href}#step-${s.number}`}
              target={target}
            >
              {s.name}
            </a>
            {s.state_text.toLowerCase() !== s.name.toLowerCase() && (
              <span class="step-state">{s.state_text}</span>
            )}
            {s.started_at && (
              <span class="step-time">{elapsed(s.started_at, s.finished_at, now)}</span>
            )}
            {s.logs.length > 0 && (
              <span class="step-logs">
                {s.logs.map((l) => (
                  <a
                    key={l.slug}
                    class="step-log"
                    data-log={l.slug}
                    target={target}
                    href={paths.log(build.builder, build.number, s.number, l.slug)}
                  >
                    {l.name}
                  </a>
                ))}
              </span>
            )}
          </div>
        );
      })}
      <div class="build-start">
        {dateTime(build.started_at)} · {elapsed(build.started_at, build.finished_at, now)}
        {build.worker ? ` · ${build.worker}` : ''}
      </div>
    </div>
  );
}
