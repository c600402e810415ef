import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ForceButton } from './ForceButton';

function answer(status: number, body: unknown) {
  return vi.fn(async () => new Response(JSON.stringify(body), { status }));
}

describe('ForceButton', () => {
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

  async function click(el: Element | null) {
    await act(async () => {
      (el as HTMLElement).click();
      await new Promise((r) => setTimeout(r, 0));
    });
  }

  it('posts a force request with the default reason', async () => {
    const fetch = answer(202, { buildset_id: 1, buildrequest_ids: [1] });
    vi.stubGlobal('fetch', fetch);
    await act(() => render(<ForceButton builder="a b" />, root));
    const button = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Force');
    expect(button?.dataset.builder).toBe('a b');
    await click(button!);
    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/builders/a%20b/force');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body as string)).toEqual({ reason: 'forced from the web' });
    expect(root.querySelector('[role=status]')?.textContent).toBe('Build requested');
  });

  it('shows the error message of a 4xx answer', async () => {
    vi.stubGlobal('fetch', answer(403, { error: 'forbidden', message: 'forcing is disabled' }));
    await act(() => render(<ForceButton builder="q" />, root));
    await click(root.querySelector('button'));
    expect(root.querySelector('[role=alert]')?.textContent).toBe('forcing is disabled (403)');
  });

  it('sends branch and revision from the options form', async () => {
    const fetch = answer(202, { buildset_id: 1, buildrequest_ids: [1] });
    vi.stubGlobal('fetch', fetch);
    await act(() => render(<ForceButton builder="q" />, root));
    await click(root.querySelector('button[aria-label^="Force options"]'));
    const branch = root.querySelector<HTMLInputElement>('input[name=branch]')!;
    await act(() => {
      branch.value = 'main';
      branch.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await click(root.querySelector('button[type=submit]'));
    const [, init] = fetch.mock.calls[0] as unknown as [string, RequestInit];
    expect(JSON.parse(init.body as string)).toEqual({
      reason: 'forced from the web',
      branch: 'main',
    });
  });
});
