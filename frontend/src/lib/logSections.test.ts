import { describe, expect, it } from 'vitest';
import { SectionScanner, sectionsAround, type Marker } from './logSections';

const start = (
  line: number,
  syntax: Marker['syntax'],
  title: string,
  collapsed: boolean,
): Marker => ({
  line,
  start: true,
  syntax,
  name: syntax === 'gitlab' ? title.toLowerCase() : title,
  title,
  collapsed,
});
const end = (line: number, syntax: Marker['syntax'], name = ''): Marker => ({
  line,
  start: false,
  syntax,
  name,
  title: '',
  collapsed: false,
});

function scan(...pages: Marker[][]) {
  const s = new SectionScanner();
  for (const p of pages) s.add(p);
  return s;
}

const brief = (s: SectionScanner) =>
  s.sections.map((x) => [x.title, x.start, x.end, x.collapsed, x.depth]);

describe('SectionScanner', () => {
  it('pairs GitHub groups with their ::endgroup:: lines, folded by default', () => {
    const s = scan([
      start(2, 'github', 'Setup', true),
      end(5, 'github'),
      start(8, 'github', 'Test', true),
    ]);
    expect(brief(s)).toEqual([
      ['Setup', 2, 5, true, 0],
      ['Test', 8, null, true, 0],
    ]);
    expect([...s.endLines]).toEqual([5]);
    s.finish(20);
    expect(s.sections[1].end).toBe(20);
  });

  it('pairs GitLab sections by name, nested, closing inner ones a missing end left open', () => {
    const s = scan(
      [start(0, 'gitlab', 'Outer', false), start(2, 'gitlab', 'Inner', true)],
      [end(4, 'gitlab', 'inner'), start(5, 'gitlab', 'Left', false), end(9, 'gitlab', 'outer')],
      [end(12, 'gitlab', 'nobody')],
    );
    expect(brief(s)).toEqual([
      ['Outer', 0, 9, false, 0],
      ['Inner', 2, 4, true, 1],
      ['Left', 5, 9, false, 1],
    ]);
    expect([...s.endLines]).toEqual([4, 9]);
  });

  it('ends each Buildkite section at the next header: --- and ~~~ folded, +++ open', () => {
    const s = scan([start(0, 'buildkite', 'Build', true)], [start(10, 'buildkite', 'Test', false)]);
    s.add([start(11, 'buildkite', 'Empty', true), start(12, 'buildkite', 'Deploy', true)]);
    expect(brief(s)).toEqual([
      ['Build', 0, 9, true, 0],
      ['Test', 10, 10, false, 0],
      ['Empty', 11, 11, true, 0],
      ['Deploy', 12, null, true, 0],
    ]);
  });

  it('nests other syntaxes inside a Buildkite section and closes them with it', () => {
    const s = scan([start(0, 'buildkite', 'Build', true), start(1, 'github', 'G', true)]);
    s.add([start(5, 'buildkite', 'Next', false)]);
    expect(brief(s)).toEqual([
      ['Build', 0, 4, true, 0],
      ['G', 1, 4, true, 1],
      ['Next', 5, null, false, 0],
    ]);
  });

  it('finds the sections around a line, innermost first', () => {
    const s = scan([
      start(0, 'gitlab', 'A', false),
      start(2, 'gitlab', 'B', false),
      end(4, 'gitlab', 'b'),
      end(6, 'gitlab', 'a'),
      start(8, 'github', 'C', true),
    ]);
    expect(sectionsAround(s.sections, 3, 20).map((x) => x.title)).toEqual(['B', 'A']);
    expect(sectionsAround(s.sections, 5, 20).map((x) => x.title)).toEqual(['A']);
    expect(sectionsAround(s.sections, 7, 20)).toEqual([]);
    expect(sectionsAround(s.sections, 15, 20).map((x) => x.title)).toEqual(['C']);
  });
});
