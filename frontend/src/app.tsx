import type { ComponentType } from 'preact';
import { useEffect, useLayoutEffect } from 'preact/hooks';
import { Layout } from '~/components/layout/Layout';
import { lazyView, type ViewProps } from '~/lazyView';
import { interceptLinks, matchRoute, navigate, useLocation, type RouteName } from '~/router';

/** Pages meant for an iframe or a tooltip: shown without the top bar. */
const BARE: ReadonlySet<RouteName> = new Set(['buildStatus']);

/** An old URL: replace it with the new one, keeping the query. */
function Redirect({ params, query }: ViewProps) {
  useLayoutEffect(() => {
    const qs = query.toString();
    navigate(qs ? `${params.to}?${qs}` : params.to, true);
  }, [params.to, query]);
  return null;
}

const VIEWS: Record<RouteName, ComponentType<ViewProps>> = {
  home: lazyView(() => import('~/views/Welcome')),
  waterfall: lazyView(() => import('~/views/Waterfall')),
  grid: lazyView(() => import('~/views/Grid')),
  console: lazyView(() => import('~/views/Console')),
  builders: lazyView(() => import('~/views/Builders')),
  builder: lazyView(() => import('~/views/BuilderPage')),
  build: lazyView(() => import('~/views/BuildPage')),
  step: lazyView(() => import('~/views/StepPage')),
  log: lazyView(() => import('~/views/LogView')),
  login: lazyView(() => import('~/views/Login')),
  users: lazyView(() => import('~/views/Users')),
  user: lazyView(() => import('~/views/UserPage')),
  hooks: lazyView(() => import('~/views/Hooks')),
  hook: lazyView(() => import('~/views/HookDelivery')),
  outbox: lazyView(() => import('~/views/Outbox')),
  workers: lazyView(() => import('~/views/Workers')),
  worker: lazyView(() => import('~/views/WorkerPage')),
  about: lazyView(() => import('~/views/About')),
  changes: lazyView(() => import('~/views/Changes')),
  change: lazyView(() => import('~/views/ChangePage')),
  oneLinePerBuild: lazyView(() => import('~/views/OneLinePerBuild')),
  buildStatus: lazyView(() => import('~/views/BuildStatus')),
  redirect: Redirect,
  notFound: lazyView(() => import('~/views/NotFound')),
};

export function App() {
  const loc = useLocation();
  useEffect(() => interceptLinks(document.body), []);
  const match = matchRoute(loc.path);
  const View = VIEWS[match.name];
  if (BARE.has(match.name))
    return (
      <main class="bare">
        <View key={loc.path} params={match.params} query={loc.query} path={loc.path} />
      </main>
    );
  return (
    <Layout path={loc.path}>
      <View key={loc.path} params={match.params} query={loc.query} path={loc.path} />
    </Layout>
  );
}
