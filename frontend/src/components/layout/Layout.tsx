import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { onConnectionState, type ConnectionState } from '~/stores/eventStream';
import { useCan } from '~/stores/session';
import { SessionControl } from './SessionControl';
import { ThemeToggle } from './ThemeToggle';

const LIVE: [string, string][] = [
  ['/', 'Home'],
  ['/waterfall', 'Waterfall'],
  ['/grid', 'Grid'],
  ['/tgrid', 'T-Grid'],
  ['/console', 'Console'],
  ['/builders', 'Builders'],
  ['/workers', 'Workers'],
  ['/changes', 'Changes'],
  ['/one_line_per_build', 'Recent builds'],
];
const LAST: [string, string][] = [['/about', 'About']];

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
  // The users, hook delivery and outbox pages are linked only for those who may see them.
  const users = useCan('show_users_page');
  const hooks = useCan('hook_deliveries');
  const outbox = useCan('manage_outbox');
  const live: [string, string][] = [
    ...LIVE,
    ...(users ? [['/users', 'Users'] as [string, string]] : []),
    ...(hooks ? [['/hooks', 'Hooks'] as [string, string]] : []),
    ...(outbox ? [['/outbox', 'Outbox'] as [string, string]] : []),
  ];
  return (
    <>
      <header class="topbar">
        <a class="brand" href="/">
          Cascade
        </a>
        <nav aria-label="Main">
          {live.map(([href, label]) => (
            <a key={href} href={href} class={isActive(href, path) ? 'active' : undefined}>
              {label}
            </a>
          ))}
          {LAST.map(([href, label]) => (
            <a key={href} href={href} class={isActive(href, path) ? 'active' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <Connection />
        <ThemeToggle />
        <SessionControl here={path + location.search} />
      </header>
      <main>{children}</main>
    </>
  );
}
