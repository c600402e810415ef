import type { Builder } from '~/api/types';
import { StatusBox } from '~/components/results/StatusBox';
import type { Status } from '~/lib/results';
import { paths } from '~/router';

const STATE: Record<Builder['state'], Status> = {
  building: 'running',
  idle: 'idle',
  offline: 'offline',
  paused: 'paused',
};

/** A builder's name with its state and 0.8.9's "plus N" pending requests. */
export function BuilderCell({ builder, as: Tag = 'th' }: { builder: Builder; as?: 'th' | 'td' }) {
  return (
    <Tag class="grid-builder" scope={Tag === 'th' ? 'row' : undefined} data-builder={builder.name}>
      <a href={paths.builder(builder.name)} title={builder.description ?? ''}>
        {builder.name}
      </a>
      <div>
        <StatusBox status={STATE[builder.state]} class="small-box">
          {builder.state}
        </StatusBox>
        {builder.pending > 0 && <span class="pending"> plus {builder.pending}</span>}
      </div>
    </Tag>
  );
}
