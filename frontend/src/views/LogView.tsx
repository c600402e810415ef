import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { API_BASE, buildUrl } from '~/api/client';
import { ErrorMessage } from '~/components/common/Message';
import { LogLinesView, type ScrollTarget } from '~/components/log/LogLinesView';
import { LogRow } from '~/components/log/LogRow';
import { LogSearchBar } from '~/components/log/LogSearchBar';
import { LogToolbar } from '~/components/log/LogToolbar';
import { StatusBox } from '~/components/results/StatusBox';
import { useAsync } from '~/composables/useAsync';
import { useLogSearch } from '~/composables/useLogSearch';
import { useLogSections } from '~/composables/useLogSections';
import { logParams, useLogWindow, type LogAddress } from '~/composables/useLogWindow';
import type { ViewProps } from '~/lazyView';
import { clickRange, formatAnchor, parseAnchor, type LineRange } from '~/lib/logAnchor';
import { buildFold } from '~/lib/logFold';
import { sectionEnd, upperBound, type Section } from '~/lib/logSections';
import { stepStatus } from '~/lib/results';
import { paths } from '~/router';
import { buildKey } from '~/stores/builds';
import { loadBuild, useBuildsStore } from '~/stores/buildsStore';
import '~/components/log/log.css';

/** The user's folding: one choice for all sections (null: each its default), then per section. */
interface Folds {
  all: boolean | null;
  own: ReadonlyMap<number, boolean>;
}

function includes(sorted: readonly number[], n: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < n) lo = mid + 1;
    else hi = mid;
  }
  return sorted[lo] === n;
}

export default function LogView({ params }: ViewProps) {
  const id = useMemo<LogAddress>(
    () => ({
      builder: params.builder,
      number: Number(params.number),
      step: params.step,
      log: params.log,
    }),
    [params.builder, params.number, params.step, params.log],
  );
  useAsync(() => loadBuild(id.builder, id.number), [id.builder, id.number]);
  const build = useBuildsStore((s) => s.builds[buildKey(id.builder, id.number)]);
  const step =
    build?.steps.find((s) => String(s.number) === id.step) ??
    build?.steps.find((s) => s.name === id.step);
  const info = step?.logs.find((l) => l.slug === id.log);
  useEffect(() => {
    document.title = `${info?.name ?? id.log} — ${step?.name ?? id.step} — ${id.builder} #${id.number} — Cascade`;
  }, [id, step?.name, info?.name]);

  const stepNumber = step?.number ?? (/^\d+$/.test(id.step) ? Number(id.step) : null);
  const win = useLogWindow(id, stepNumber);
  const sections = useLogSections(id, win.total);
  const [query, setQuery] = useState('');
  const search = useLogSearch(id, query, win.total);
  const [current, setCurrent] = useState(-1);
  const [selected, setSelected] = useState<LineRange | null>(() => parseAnchor(location.hash));
  const [folds, setFolds] = useState<Folds>({ all: null, own: new Map() });
  const [follow, setFollow] = useState(() => parseAnchor(location.hash) == null);
  const [target, setTarget] = useState<ScrollTarget | null>(null);
  const seq = useRef(0);
  const goTo = (line: number) => {
    setFollow(false);
    setTarget({ line, seq: ++seq.current });
  };

  const currentLine = current >= 0 ? search.matches[current] : undefined;
  // The line being looked at (a match or an anchor) shows even inside a folded section.
  const reveal = currentLine ?? selected?.from ?? null;
  const total = win.total;
  const isFolded = (s: Section) =>
    folds.own.get(s.start) ??
    (reveal != null && s.start < reveal && reveal <= sectionEnd(s, total)
      ? false
      : (folds.all ?? s.collapsed));
  const fold = useMemo(
    () => buildFold(sections.list, isFolded, total),
    [sections.list, folds, reveal, total],
  );

  // An anchor in the URL: go to it once the log's length is known, and when it changes.
  useEffect(() => {
    if (win.loaded && selected) goTo(selected.from);
  }, [win.loaded]);
  useEffect(() => {
    const onHash = () => {
      const range = parseAnchor(location.hash);
      setSelected(range);
      if (range) goTo(range.from);
    };
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);

  // A new search starts at its first match.
  useEffect(() => setCurrent(-1), [search.query]);
  useEffect(() => {
    if (current < 0 && search.matches.length) {
      setCurrent(0);
      goTo(search.matches[0]);
    }
  }, [search.matches.length > 0, search.query]);
  const stepMatch = (delta: 1 | -1) => {
    const n = search.matches.length;
    if (!n) return;
    const next = current < 0 ? (delta > 0 ? 0 : n - 1) : (current + delta + n) % n;
    setCurrent(next);
    goTo(search.matches[next]);
  };

  const onNumber = (n: number, extend: boolean) => {
    const range = clickRange(selected, n, extend);
    setSelected(range);
    history.replaceState(
      history.state,
      '',
      location.pathname + location.search + formatAnchor(range),
    );
  };
  const onToggle = (s: Section) =>
    setFolds((f) => ({ ...f, own: new Map(f.own).set(s.start, !isFolded(s)) }));

  const renderRow = (n: number, top: number) => {
    const i = upperBound(sections.list, n) - 1;
    const s = i >= 0 && sections.list[i].start === n ? sections.list[i] : undefined;
    return (
      <LogRow
        key={n}
        n={n}
        top={top}
        line={win.line(n)}
        head={s && { section: s, folded: isFolded(s), body: sectionEnd(s, total) - s.start }}
        closes={sections.ends.has(n)}
        selected={selected != null && n >= selected.from && n <= selected.to}
        match={search.query !== '' && includes(search.matches, n)}
        current={n === currentLine}
        query={search.query}
        onNumber={onNumber}
        onToggle={onToggle}
      />
    );
  };

  const stepPart = encodeURIComponent(id.step);
  const logPath = `${paths.build(id.builder, id.number)}/steps/${stepPart}/logs/${encodeURIComponent(id.log)}`;
  const raw =
    API_BASE +
    buildUrl('/builders/{name}/builds/{number}/steps/{step}/logs/{log}/raw', logParams(id));
  const complete = win.complete || Boolean(info?.complete);

  return (
    <section class="page log-page" style={{ '--no-width': `${String(total).length + 1}ch` }}>
      <nav class="crumbs">
        <a href="/waterfall">Waterfall</a> › <a href={paths.builder(id.builder)}>{id.builder}</a> ›{' '}
        <a href={paths.build(id.builder, id.number)}>#{id.number}</a> ›{' '}
        <a href={`${paths.build(id.builder, id.number)}/steps/${stepPart}`}>
          {step?.name ?? id.step}
        </a>{' '}
        › <span>{info?.name ?? id.log}</span>
      </nav>
      <LogToolbar
        total={total}
        complete={complete}
        follow={follow}
        onFollow={() => setFollow(true)}
        sections={sections.list.length}
        onFoldAll={(all) => setFolds({ all, own: new Map() })}
        rawUrl={raw}
        textUrl={`${logPath}/text`}
        fileName={`${id.builder}-${id.number}-${step?.name ?? id.step}-${id.log}.txt`}
      >
        {step && <StatusBox status={stepStatus(step)}>{step.state_text || step.name}</StatusBox>}
      </LogToolbar>
      <LogSearchBar
        query={query}
        onQuery={setQuery}
        search={search}
        current={current}
        onStep={stepMatch}
      />
      {win.error && <ErrorMessage error={win.error} />}
      <LogLinesView
        fold={fold}
        follow={follow}
        onFollow={setFollow}
        target={target}
        onView={win.show}
        renderRow={renderRow}
      />
    </section>
  );
}
