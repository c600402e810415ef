import type { ComponentChildren } from 'preact';
import type { Worker } from '~/api/types';
import { hostEntries } from '~/lib/workers';
import { paths } from '~/router';
import { LastSeen } from './LastSeen';
import { WorkerStateBox } from './WorkerStateBox';

function Item({ term, children }: { term: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{term}</dt>
      <dd>{children}</dd>
    </div>
  );
}

const none = <span class="muted">—</span>;

/** A worker's state, connection, host info and builders. */
export function WorkerDetails({ worker: w, now }: { worker: Worker; now: number }) {
  return (
    <>
      <dl class="facts" data-testid="worker-details">
        <Item term="State">
          <WorkerStateBox worker={w} />
        </Item>
        <Item term="Connected to">{w.master ?? none}</Item>
        <Item term="From">{w.embedded ? 'inside the master (embedded)' : (w.peer ?? none)}</Item>
        <Item term="Version">{w.version ?? none}</Item>
        <Item term="Running builds">
          {w.running_builds} of at most {w.max_builds}
        </Item>
        <Item term="Last seen">
          <LastSeen at={w.last_seen} now={now} />
        </Item>
        <Item term="Builders">
          {w.builders.length === 0
            ? none
            : w.builders.map((b, i) => (
                <span key={b}>
                  {i > 0 && ', '}
                  <a href={paths.builder(b)}>{b}</a>
                </span>
              ))}
        </Item>
      </dl>
      <h2>Host</h2>
      {Object.keys(w.info).length === 0 ? (
        <p class="muted">The worker has not said anything about its host yet.</p>
      ) : (
        <dl class="facts" data-testid="worker-host">
          {hostEntries(w.info).map(([k, v]) => (
            <Item key={k} term={k}>
              {v}
            </Item>
          ))}
        </dl>
      )}
    </>
  );
}
