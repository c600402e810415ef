import { useEffect } from 'preact/hooks';
import { ApiError } from '~/api/client';
import type { BuildDetail, Step } from '~/api/types';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { StatusBox } from '~/components/results/StatusBox';
import { useAsync } from '~/composables/useAsync';
import { useNow } from '~/composables/useNow';
import { useServerEvents } from '~/composables/useServerEvents';
import type { ViewProps } from '~/lazyView';
import { stepStatus } from '~/lib/results';
import { dateTime, elapsed } from '~/lib/time';
import { paths } from '~/router';
import { buildKey } from '~/stores/builds';
import { loadBuild, useBuildsStore } from '~/stores/buildsStore';

/** A step by its number or, as 0.8.9's URLs name them, by its name. */
export function findStep(build: BuildDetail, step: string): Step | undefined {
  return /^\d+$/.test(step)
    ? build.steps.find((s) => s.number === Number(step))
    : build.steps.find((s) => s.name === step);
}

/** The plain-text route of a log (headers left out), served by the master itself. */
export function textLogUrl(builder: string, number: number, step: number, log: string): string {
  return `${paths.log(builder, number, step, log)}/text`;
}

/** `/builders/{b}/builds/{n}/steps/{s}`: one step, its timing and its logs. */
export default function StepPage({ params }: ViewProps) {
  const builder = params.builder;
  const number = Number(params.number);
  const { error, reload } = useAsync(() => loadBuild(builder, number), [builder, number]);
  useServerEvents(() => undefined, reload);
  const build = useBuildsStore((s) => s.builds[buildKey(builder, number)]);
  const step = build ? findStep(build, params.step) : undefined;
  const now = useNow(step != null && step.started_at != null && !step.complete);
  useEffect(() => {
    document.title = `${step?.name ?? params.step} — ${builder} #${number} — Cascade`;
  }, [step?.name, params.step, builder, number]);

  if (!build) {
    if (error instanceof ApiError && error.status === 404)
      return (
        <section class="page notice">
          <h1>No such build</h1>
          <p>
            {builder} has no build #{number}.
          </p>
        </section>
      );
    return error ? <ErrorMessage error={error} /> : <Loading />;
  }
  if (!step)
    return (
      <section class="page notice">
        <h1>No such step</h1>
        <p>
          Build <a href={paths.build(builder, number)}>#{number}</a> of {builder} has no step “
          {params.step}”.
        </p>
      </section>
    );
  const status = stepStatus(step);
  const rows: [string, string][] = [
    ['Started', step.started_at ? dateTime(step.started_at) : 'not yet'],
    ['Finished', step.finished_at ? dateTime(step.finished_at) : step.started_at ? 'running' : '—'],
    ['Duration', step.started_at ? elapsed(step.started_at, step.finished_at, now) : '—'],
  ];
  return (
    <section class="page step-page" data-step={step.number}>
      <nav class="crumbs">
        <a href="/builders">Builders</a> › <a href={paths.builder(builder)}>{builder}</a> ›{' '}
        <a href={paths.build(builder, number)}>#{number}</a> › <span>{step.name}</span>
      </nav>
      <h1>
        {step.name}{' '}
        <StatusBox status={status} class="big">
          {step.state_text || status}
        </StatusBox>
      </h1>
      <dl class="props">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <h2>Logs</h2>
      {step.logs.length === 0 ? (
        <p class="muted">This step has no logs.</p>
      ) : (
        <table class="list" data-testid="step-logs">
          <thead>
            <tr>
              <th scope="col">Log</th>
              <th scope="col">Lines</th>
              <th scope="col">Plain text</th>
            </tr>
          </thead>
          <tbody>
            {step.logs.map((l) => (
              <tr key={l.slug} data-log={l.slug}>
                <td>
                  <a href={paths.log(builder, number, step.number, l.slug)}>{l.name}</a>
                  {!l.complete && <span class="muted small"> (growing)</span>}
                </td>
                <td>{l.num_lines}</td>
                <td>
                  <a href={textLogUrl(builder, number, step.number, l.slug)} data-native>
                    text
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
