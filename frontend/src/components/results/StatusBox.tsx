import type { ComponentChildren } from 'preact';
import { LABELS, statusStyle, type Status } from '~/lib/results';

interface Props {
  status: Status;
  children?: ComponentChildren;
  title?: string;
  class?: string;
}

/** A small box coloured by a result or state, labelled with its name unless given children. */
export function StatusBox({ status, children, title, class: cls }: Props) {
  return (
    <span
      class={`status-box ${cls ?? ''}`}
      style={statusStyle(status)}
      data-results={status}
      title={title ?? LABELS[status]}
    >
      {children ?? LABELS[status]}
    </span>
  );
}
