import { useEffect } from 'preact/hooks';
import { ApiError } from '~/api/client';
import { BuildHeader } from '~/components/build/BuildHeader';
import { StepList } from '~/components/build/StepList';
import { StopButton } from '~/components/build/StopButton';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { useAsync } from '~/composables/useAsync';
import { useNow } from '~/composables/useNow';
import { useServerEvents } from '~/composables/useServerEvents';
import type { ViewProps } from '~/lazyView';
import { buildKey } from '~/stores/builds';
import { loadBuild, useBuildsStore } from '~/stores/buildsStore';
import { useCan } from '~/stores/session';

export default function BuildPage({ params }: ViewProps) {
  const builder = params.builder;
  const number = Number(params.number);
  useEffect(() => {
    document.title = `${builder} #${number} — Cascade`;
  }, [builder, number]);

  const { error, reload } = useAsync(() => loadBuild(builder, number), [builder, number]);
  // The store follows the event stream; after a reconnect, fetch the build again.
  useServerEvents(() => undefined, reload);
  const build = useBuildsStore((s) => s.builds[buildKey(builder, number)]);
  const now = useNow(build != null && !build.complete);
  const canStop = useCan('stop_build');

  if (!Number.isInteger(number)) return <p class="error-box">Bad build number.</p>;
  if (!build) {
    if (error instanceof ApiError && error.status === 404)
      return (
        <section class="page notice">
          <h1>No such build</h1>
          <p>
            {builder} has no build #{number}. <a href="/waterfall">Back to the waterfall</a>
          </p>
        </section>
      );
    return error ? <ErrorMessage error={error} /> : <Loading />;
  }
  return (
    <section class="page build-page">
      <nav class="crumbs">
        <a href="/waterfall">Waterfall</a> › <span>{builder}</span> › <span>#{number}</span>
      </nav>
      <BuildHeader build={build} />
      {!build.complete && canStop && <StopButton builder={builder} number={number} />}
      <h2>Steps</h2>
      <StepList build={build} now={now} />
    </section>
  );
}
