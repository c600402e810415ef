import type { ComponentChildren } from 'preact';
import type { Builder } from '~/api/types';
import { clock, date } from '~/lib/time';
import type { WaterfallRow } from '~/lib/waterfallLayout';
import { BuilderHeader } from './BuilderHeader';

interface Props<T> {
  columns: Builder[];
  rows: WaterfallRow<T>[];
  runningSince: Record<string, string>;
  renderItem: (item: T) => ComponentChildren;
  itemKey: (item: T) => string;
  empty: ComponentChildren;
}

/**
 * The waterfall's rows as CSS grids of fixed columns (time, changes, one per builder), an
 * element only where a column has something: a page of hundreds of rows and fifty builders
 * stays a few thousand elements, and rows out of sight are not laid out
 * (`content-visibility`).
 */
export function WaterfallGrid<T>({
  columns,
  rows,
  runningSince,
  renderItem,
  itemKey,
  empty,
}: Props<T>) {
  const style = { '--wf-builders': String(columns.length) };
  return (
    <div class="wf" data-testid="waterfall" role="table" aria-label="Waterfall" style={style}>
      <div class="wf-row wf-head" role="row">
        <div class="wf-time" role="columnheader">
          Time
        </div>
        <div class="wf-changes" role="columnheader">
          Changes
        </div>
        {columns.map((b, i) => (
          <div key={b.name} class="wf-builder" role="columnheader" style={{ gridColumn: i + 3 }}>
            <BuilderHeader builder={b} runningSince={runningSince[b.name]} />
          </div>
        ))}
      </div>
      {rows.length === 0 && (
        <div class="wf-row" role="row">
          <div class="wf-time" role="rowheader" />
          <div class="wf-empty muted" role="cell">
            {empty}
          </div>
        </div>
      )}
      {rows.map((row) => (
        <div key={row.top} class="wf-row wf-body" role="row">
          <div class="wf-time" role="rowheader">
            {row.showDate && <div class="date">{date(row.time)}</div>}
            {clock(row.time)}
          </div>
          {row.cells.map((cell, i) =>
            cell.length === 0 ? null : (
              <div
                key={i}
                class={i === 0 ? 'wf-cell wf-changes' : 'wf-cell'}
                role="cell"
                style={{ gridColumn: i + 2 }}
              >
                {cell.map((item) => (
                  <div key={itemKey(item)} class="wf-item">
                    {renderItem(item)}
                  </div>
                ))}
              </div>
            ),
          )}
        </div>
      ))}
    </div>
  );
}
