import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Delivery } from '~/api/types';
import { DeliveryTable } from './DeliveryTable';

const base: Delivery = {
  id: 1,
  dialect: 'base',
  received_at: '2024-05-01T10:00:00Z',
  source_addr: '127.0.0.1',
  status: 202,
  outcome: 'created 1 change',
  change_ids: [7],
  headers: {},
  body_truncated: false,
};

describe('DeliveryTable', () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement('div');
    document.body.append(root);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  it('shows one row per delivery with its status class, changes and replay link', async () => {
    const deliveries: Delivery[] = [
      { ...base, id: 3, status: 202, change_ids: [8, 9], replay_of: 1, event: 'push' },
      { ...base, id: 2, dialect: 'github', status: 400, outcome: 'bad JSON', change_ids: [] },
      { ...base, id: 1, status: 500, outcome: 'database down', change_ids: [] },
    ];
    await act(() => render(<DeliveryTable deliveries={deliveries} />, root));
    const rows = [...root.querySelectorAll('tbody tr')];
    expect(rows.map((r) => r.getAttribute('data-id'))).toEqual(['3', '2', '1']);
    const classes = rows.map((r) =>
      r.querySelector('.http-status')?.getAttribute('data-status-class'),
    );
    expect(classes).toEqual(['2xx', '4xx', '5xx']);
    expect(rows[1].querySelector('.status-box')?.getAttribute('data-results')).toBe('warnings');

    const cells = (r: Element) => [...r.querySelectorAll('td')].map((td) => td.textContent);
    const [id, , dialect, event, source, status, outcome, changes, replay] = cells(rows[0]);
    expect([id, dialect, event, source, status, outcome]).toEqual([
      '3',
      'base',
      'push',
      '127.0.0.1',
      '202',
      'created 1 change',
    ]);
    expect(changes).toBe('#8, #9');
    expect(replay).toBe('replay of #1');
    expect(rows[0].querySelector('a[href="/hooks/1"]')?.textContent).toBe('replay of #1');
    expect(rows[0].querySelector('a')?.getAttribute('href')).toBe('/hooks/3');
    // Change ids link nowhere yet.
    expect(rows[0].querySelector('.change-ids a')).toBeNull();

    // A missing event, no changes and no replay show dashes; the dialect filters the log.
    expect(cells(rows[1])[3]).toBe('—');
    expect(cells(rows[1])[7]).toBe('—');
    expect(cells(rows[1])[8]).toBe('—');
    expect(rows[1].querySelector('td:nth-child(3) a')?.getAttribute('href')).toBe(
      '/hooks?dialect=github',
    );
  });

  it('renders user text as text', async () => {
    const d = { ...base, outcome: '<b>x</b>', source_addr: '<i>y</i>' };
    await act(() => render(<DeliveryTable deliveries={[d]} />, root));
    expect(root.querySelector('b, i')).toBeNull();
    expect(root.querySelector('td.outcome')?.textContent).toBe('<b>x</b>');
  });
});
