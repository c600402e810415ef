import type { ComponentType } from 'preact';
import { useEffect } from 'preact/hooks';
import { Layout } from '~/components/layout/Layout';
import { lazyView, type ViewProps } from '~/lazyView';
import { interceptLinks, matchRoute, useLocation, type RouteName } from '~/router';

const VIEWS: Record<RouteName, ComponentType<ViewProps>> = {
  home: lazyView(() => import('~/views/Welcome')),
  waterfall: lazyView(() => import('~/views/Waterfall')),
  build: lazyView(() => import('~/views/BuildPage')),
  log: lazyView(() => import('~/views/LogView')),
  notYet: lazyView(() => import('~/views/NotYet')),
  notFound: lazyView(() => import('~/views/NotFound')),
};

export function App() {
  const loc = useLocation();
  useEffect(() => interceptLinks(document.body), []);
  const match = matchRoute(loc.path);
  const View = VIEWS[match.name];
  return (
    <Layout path={loc.path}>
      <View key={loc.path} params={match.params} query={loc.query} path={loc.path} />
    </Layout>
  );
}
