import type { Builder, ConsoleBox } from '~/api/types';
import { etaSeconds, etaText } from '~/lib/eta';
import { CONSOLE_COLOURS } from '~/lib/results';
import { paths } from '~/router';

/** The tooltip: builder, build text and, while running, the ETA (0.8.9's box title). */
function tooltip(builder: Builder, box: ConsoleBox): string {
  if (!box.build)
    return `${builder.name}: ${box.class === 'notinbuilder' ? 'does not build this' : 'not started'}`;
  const eta = box.build.complete
    ? ''
    : etaText(etaSeconds(box.build.started_at, builder.average_duration, Date.now()));
  return `${builder.name} #${box.build.number}: ${box.build.state_text}${eta ? ` (${eta})` : ''}`;
}

/** One console box, linked to its build (0.8.9 linked `buildstatus?builder=&number=`). */
export function ConsoleCell({ builder, box }: { builder: Builder; box: ConsoleBox }) {
  const c = CONSOLE_COLOURS[box.class];
  const style = { background: c.background, borderColor: c.border, color: c.text };
  return (
    <td
      class="console-cell"
      data-testid="console-box"
      data-builder={builder.name}
      data-class={box.class}
    >
      {box.build ? (
        <a
          class={`console-box ${box.class}`}
          style={style}
          href={paths.build(builder.name, box.build.number)}
          title={tooltip(builder, box)}
          aria-label={tooltip(builder, box)}
        />
      ) : (
        <span class={`console-box ${box.class}`} style={style} title={tooltip(builder, box)} />
      )}
    </td>
  );
}
