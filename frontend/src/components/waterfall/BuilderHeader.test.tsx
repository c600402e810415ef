import { render } from 'preact';
import { act } from 'preact/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Builder, Session } from '~/api/types';
import { setSession } from '~/stores/session';
import { BuilderHeader } from './BuilderHeader';

const BUILDER: Builder = {
  name: 'quick',
  tags: [],
  workers: ['local'],
  state: 'idle',
  pending: 0,
  running: 0,
  can_force: true,
};
const session = (force: boolean): Session => ({
  roles: [],
  actions: { view: true, force_build: force },
  password_login: true,
});

describe('BuilderHeader', () => {
  let root: HTMLElement;
  beforeEach(() => {
    root = document.createElement('div');
    document.body.append(root);
  });
  afterEach(() => {
    render(null, root);
    root.remove();
  });

  const forceButton = () =>
    [...root.querySelectorAll('button')].find((b) => b.textContent === 'Force');

  it('shows Force only to those who may force builds', async () => {
    setSession(session(false));
    await act(() => render(<BuilderHeader builder={BUILDER} />, root));
    expect(forceButton()).toBeUndefined();
    await act(() => setSession(session(true)));
    expect(forceButton()).toBeDefined();
    await act(() => render(<BuilderHeader builder={{ ...BUILDER, can_force: false }} />, root));
    expect(forceButton()).toBeUndefined();
  });
});
