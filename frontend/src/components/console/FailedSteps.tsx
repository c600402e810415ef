import type { Builder, ConsoleRow } from '~/api/types';
import { paths } from '~/router';

/** The failed steps under a row's red boxes, each with its log links. */
export function FailedSteps({ row, builders }: { row: ConsoleRow; builders: Builder[] }) {
  const failed = row.boxes.flatMap((box, i) =>
    (box.class === 'failure' || box.class === 'failure-again') && box.build
      ? box.failed_steps.map((s) => ({ builder: builders[i].name, number: box.build!.number, s }))
      : [],
  );
  if (failed.length === 0) return null;
  return (
    <ul class="failed-steps" data-testid="failed-steps">
      {failed.map(({ builder, number, s }) => (
        <li key={`${builder}/${s.number}`}>
          <a href={paths.build(builder, number)}>
            {builder} #{number}
          </a>
          : {s.state_text || s.name}
          {s.logs.map((l) => (
            <a key={l.slug} class="log-link" href={paths.log(builder, number, s.number, l.slug)}>
              {l.name}
            </a>
          ))}
        </li>
      ))}
    </ul>
  );
}
