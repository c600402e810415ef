// Lazy-loaded views: each view is its own chunk, fetched the first time its route is shown.
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { Loading } from '~/components/common/Message';

export interface ViewProps {
  params: Record<string, string>;
  query: URLSearchParams;
  path: string;
}

type Loader = () => Promise<{ default: ComponentType<ViewProps> }>;

export function lazyView(load: Loader): ComponentType<ViewProps> {
  let loaded: ComponentType<ViewProps> | null = null;
  let pending: Promise<ComponentType<ViewProps>> | null = null;
  return function LazyView(props: ViewProps) {
    const [View, setView] = useState<ComponentType<ViewProps> | null>(() => loaded);
    const [failed, setFailed] = useState(false);
    useEffect(() => {
      if (View) return;
      pending ??= load().then((m) => (loaded = m.default));
      pending.then(
        (v) => setView(() => v),
        () => {
          pending = null;
          setFailed(true);
        },
      );
    }, [View]);
    if (failed)
      return (
        <p class="error-box" role="alert">
          This page could not be loaded. <a href={props.path}>Retry</a>
        </p>
      );
    return View ? <View {...props} /> : <Loading />;
  };
}
