import { useEffect, useMemo } from 'preact/hooks';
import { rawLogUrl } from '~/api/client';
import { ErrorMessage } from '~/components/common/Message';
import { LogLinesView } from '~/components/log/LogLinesView';
import { StatusBox } from '~/components/results/StatusBox';
import { useAsync } from '~/composables/useAsync';
import { useLogLines } from '~/composables/useLogLines';
import type { ViewProps } from '~/lazyView';
import { canLoadEarlier } from '~/lib/logBuffer';
import { stepStatus } from '~/lib/results';
import { paths } from '~/router';
import { buildKey } from '~/stores/builds';
import { loadBuild, useBuildsStore } from '~/stores/buildsStore';

export default function LogView({ params }: ViewProps) {
  const id = useMemo(
    () => ({
      builder: params.builder,
      number: Number(params.number),
      step: Number(params.step),
      log: params.log,
    }),
    [params.builder, params.number, params.step, params.log],
  );
  useEffect(() => {
    document.title = `${id.log} — ${id.builder} #${id.number} — Cascade`;
  }, [id]);

  useAsync(() => loadBuild(id.builder, id.number), [id.builder, id.number]);
  const build = useBuildsStore((s) => s.builds[buildKey(id.builder, id.number)]);
  const step = build?.steps.find((s) => s.number === id.step);
  const info = step?.logs.find((l) => l.slug === id.log);
  const { buf, error, loadEarlier, loadingEarlier } = useLogLines(id);
  const raw = rawLogUrl(id.builder, id.number, id.step, id.log);
  const complete = buf.complete || info?.complete;

  return (
    <section class="page log-page">
      <nav class="crumbs">
        <a href="/waterfall">Waterfall</a> › <span>{id.builder}</span> ›{' '}
        <a href={paths.build(id.builder, id.number)}>#{id.number}</a> ›{' '}
        <span>{step ? step.name : `step ${id.step}`}</span> › <span>{info?.name ?? id.log}</span>
      </nav>
      <div class="log-toolbar">
        {step && <StatusBox status={stepStatus(step)}>{step.state_text || step.name}</StatusBox>}
        <span class="muted">
          {buf.total} lines{complete ? '' : ' · following'}
        </span>
        {canLoadEarlier(buf) && (
          <button type="button" class="btn" disabled={loadingEarlier} onClick={loadEarlier}>
            Load {Math.min(buf.start, 1000)} earlier lines
          </button>
        )}
        {buf.start > 0 && !canLoadEarlier(buf) && (
          <span class="muted">{buf.start} earlier lines: see the raw log</span>
        )}
        <a href={raw} target="_blank" rel="noopener" data-native>
          raw
        </a>
      </div>
      {error && <ErrorMessage error={error} />}
      <LogLinesView buf={buf} />
    </section>
  );
}
