import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { apiPost } from '~/api/client';
import { ActionButton } from './ActionButton';

/** The change page's stop control. */
function StopChange({ change }: { change: number }) {
  return (
    <ActionButton
      label="Stop builds of this change"
      askReason
      requireReason
      confirm="Stop builds"
      run={async (reason) =>
        (await apiPost('/changes/{id}/stop', { reason }, { params: { id: change } })).message
      }
    />
  );
}

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status }));
}

describe('ActionButton asking for a reason', () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement('div');
    document.body.append(root);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
    vi.unstubAllGlobals();
  });

  async function settle(f: () => void) {
    await act(async () => {
      f();
      await new Promise((r) => setTimeout(r, 0));
    });
  }

  async function stopWith(reason: string) {
    await settle(() => root.querySelector('button')!.click());
    const input = root.querySelector<HTMLInputElement>('input[name=reason]')!;
    await settle(() => {
      input.value = reason;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await settle(() => root.querySelector('form')!.requestSubmit());
  }

  it('asks for a reason, posts it and shows the answer', async () => {
    const fetch = answer(200, {
      message: 'cancelled 1 pending request(s), stopping 2 build(s)',
      count: 3,
    });
    vi.stubGlobal('fetch', fetch);
    await act(() => render(<StopChange change={7} />, root));
    expect(root.querySelector('form')).toBeNull();
    await settle(() => root.querySelector('button')!.click());
    expect(document.activeElement?.getAttribute('name')).toBe('reason');
    await settle(() => root.querySelectorAll('button')[1].click());
    expect(document.activeElement?.textContent).toBe('Stop builds of this change');
    await stopWith('  superseded  ');
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/changes/7/stop');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body as string)).toEqual({ reason: 'superseded' });
    expect(root.querySelector('[role=status]')?.textContent).toBe(
      'cancelled 1 pending request(s), stopping 2 build(s)',
    );
    expect(root.querySelector('form')).toBeNull();
    expect(document.activeElement?.textContent).toBe('Stop builds of this change');
  });

  it('keeps the form and shows the refusal', async () => {
    vi.stubGlobal('fetch', answer(403, { error: 'forbidden', message: 'not allowed' }));
    await act(() => render(<StopChange change={7} />, root));
    await stopWith('why not');
    expect(root.querySelector('[role=alert]')?.textContent).toBe('not allowed (403)');
    expect(root.querySelector<HTMLInputElement>('input[name=reason]')?.value).toBe('why not');
  });

  it('refuses to act without a reason when one is required', async () => {
    const fetch = answer(200, { message: 'ok' });
    vi.stubGlobal('fetch', fetch);
    await act(() => render(<StopChange change={7} />, root));
    await stopWith('   ');
    expect(fetch).not.toHaveBeenCalled();
    expect(root.querySelector('[role=alert]')?.textContent).toBe('Say why first.');
  });
});
