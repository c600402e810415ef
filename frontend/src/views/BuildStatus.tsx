import { useEffect } from 'preact/hooks';
import { ApiError } from '~/api/client';
import { BuildStatusBox } from '~/components/build/BuildStatusBox';
import { ErrorMessage, Loading } from '~/components/common/Message';
import { useAsync } from '~/composables/useAsync';
import { useServerEvents } from '~/composables/useServerEvents';
import type { ViewProps } from '~/lazyView';
import { buildKey } from '~/stores/builds';
import { loadBuild, useBuildsStore } from '~/stores/buildsStore';

/**
 * `/buildstatus?builder=B&number=N`: one build's box with its steps and nothing around it,
 * small enough for an iframe or a tooltip (0.8.9's console opened it so), live while it runs.
 */
export default function BuildStatus({ query }: ViewProps) {
  const builder = query.get('builder') ?? '';
  const number = Number(query.get('number'));
  const valid = builder !== '' && Number.isInteger(number) && number > 0;
  useEffect(() => {
    document.title = valid ? `${builder} #${number} — Cascade` : 'Build status — Cascade';
  }, [builder, number, valid]);
  const { error, reload } = useAsync(
    () =>
      valid
        ? loadBuild(builder, number)
        : Promise.reject(new Error('Give a builder= and a build number=.')),
    [builder, number],
  );
  // The store follows the event stream; after a reconnect, fetch the build again.
  useServerEvents(() => undefined, reload);
  const build = useBuildsStore((s) => (valid ? s.builds[buildKey(builder, number)] : undefined));

  if (!build) {
    if (error instanceof ApiError && error.status === 404)
      return (
        <p class="error-box" role="alert">
          {builder} has no build #{number}.
        </p>
      );
    return error ? <ErrorMessage error={error} /> : <Loading />;
  }
  return <BuildStatusBox build={build} />;
}
