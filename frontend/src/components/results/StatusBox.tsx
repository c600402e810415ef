import type { ComponentChildren } from 'preact';
import { LABELS, statusStyle, type Status } from '~/lib/results';

interface Props {
  status: Status;
  children?: ComponentChildren;
  title?: string;
  class?: string;
  /** A box without text (the console's builder line); `title` still names the status. */
  bare?: boolean;
}

/** A small box coloured by a result or state, labelled with its name unless given children. */
export function StatusBox({ status, children, title, class: cls, bare }: Props) {
  return (
    <span
      class={`status-box ${cls ?? ''}`}
      style={statusStyle(status)}
      data-results={status}
      title={title ?? LABELS[status]}
    >
      {bare ? null : (children ?? LABELS[status])}
    </span>
  );
}
