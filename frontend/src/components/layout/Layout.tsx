import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { onConnectionState, type ConnectionState } from '~/stores/eventStream';

const LIVE: [string, string][] = [
  ['/', 'Home'],
  ['/waterfall', 'Waterfall'],
];
const LATER: [string, string][] = [
  ['/grid', 'Grid'],
  ['/tgrid', 'T-Grid'],
  ['/console', 'Console'],
  ['/builders', 'Builders'],
  ['/changes', 'Changes'],
  ['/workers', 'Workers'],
  ['/one_line_per_build', 'Recent builds'],
  ['/users', 'Users'],
  ['/about', 'About'],
];

function isActive(href: string, path: string): boolean {
  return href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
}

function Connection() {
  const [state, setState] = useState<ConnectionState>('closed');
  useEffect(() => onConnectionState(setState), []);
  const label = { open: 'live', connecting: 'connecting…', closed: 'offline' }[state];
  return (
    <span class={`conn conn-${state}`} title={`Live updates: ${label}`}>
      {label}
    </span>
  );
}

export function Layout({ path, children }: { path: string; children: ComponentChildren }) {
  return (
    <>
      <header class="topbar">
        <a class="brand" href="/">
          Cascade
        </a>
        <nav aria-label="Main">
          {LIVE.map(([href, label]) => (
            <a key={href} href={href} class={isActive(href, path) ? 'active' : undefined}>
              {label}
            </a>
          ))}
          {LATER.map(([href, label]) => (
            <a
              key={href}
              href={href}
              class={`later ${path === href ? 'active' : ''}`}
              title="Not yet available"
            >
              {label}
            </a>
          ))}
        </nav>
        <Connection />
      </header>
      <main>{children}</main>
    </>
  );
}
