// A memoised component: re-renders only when a prop changes by reference (like React.memo).
import { Component, h, type ComponentType, type FunctionComponent } from 'preact';

function shallowEqual(a: object, b: object): boolean {
  const ka = Object.keys(a) as (keyof typeof a)[];
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

export function pure<P extends object>(C: FunctionComponent<P>): ComponentType<P> {
  class Pure extends Component<P> {
    override shouldComponentUpdate(next: P): boolean {
      return !shallowEqual(this.props, next);
    }
    override render() {
      return h(C, this.props);
    }
  }
  return Pure;
}
