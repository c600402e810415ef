import { navigate } from '~/router';
import { boolArg, listArg, numberArg, pageUrl, type ArgValue } from '~/lib/query';

/** An epoch-seconds argument as a `datetime-local` value. */
function localInput(query: URLSearchParams, name: string): string {
  const s = numberArg(query, name);
  if (s == null) return '';
  const d = new Date(s * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** One query argument the form sets. */
export interface FilterField {
  /** The argument's name (0.8.9's). */
  name: string;
  label: string;
  /**
   * `choices`: pick several of `choices`; `select`: one of them; `text`: comma-separated
   * values; `check`: on/off;
   * `number`; `time`: a local date and time, sent as epoch seconds.
   */
  kind: 'choices' | 'select' | 'text' | 'check' | 'number' | 'time';
  choices?: readonly string[];
  placeholder?: string;
}

interface Props {
  /** The page the form's URL points at. */
  path: string;
  query: URLSearchParams;
  fields: readonly FilterField[];
  /** Arguments kept as they are (not in the form). */
  keep?: readonly string[];
}

/** The page's filters as a form whose result is the page's own URL: a shareable link. */
export function FilterForm({ path, query, fields, keep = [] }: Props) {
  const active = fields.filter((f) => query.has(f.name) && query.get(f.name) !== '');
  const onSubmit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const args: Record<string, ArgValue> = {};
    for (const k of keep) args[k] = query.getAll(k);
    for (const f of fields) {
      if (f.kind === 'choices') args[f.name] = form.getAll(f.name).map(String);
      else if (f.kind === 'check') args[f.name] = form.get(f.name) != null;
      else if (f.kind === 'text') {
        const raw = String(form.get(f.name) ?? '');
        args[f.name] = raw
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '');
      } else if (f.kind === 'time') {
        const t = Date.parse(String(form.get(f.name) ?? ''));
        args[f.name] = Number.isNaN(t) ? '' : Math.floor(t / 1000);
      } else args[f.name] = String(form.get(f.name) ?? '').trim();
    }
    navigate(pageUrl(path, args));
  };
  return (
    <details class="filters" open={active.length > 0} data-testid="filters">
      <summary>
        Filters
        {active.length > 0 && (
          <span class="filter-summary">
            {' '}
            · {active.map((f) => `${f.name}=${listArg(query, f.name).join(',')}`).join(' · ')}
          </span>
        )}
      </summary>
      <form class="filter-grid" onSubmit={onSubmit} aria-label="Filters">
        {fields.map((f) => (
          <label key={f.name} class={`filter-${f.kind}`}>
            <span>{f.label}</span>
            {f.kind === 'choices' && (
              <select
                name={f.name}
                multiple
                size={Math.min(5, Math.max(2, f.choices?.length ?? 2))}
              >
                {(f.choices ?? []).map((c) => (
                  <option key={c} value={c} selected={listArg(query, f.name).includes(c)}>
                    {c}
                  </option>
                ))}
              </select>
            )}
            {f.kind === 'select' && (
              <select name={f.name}>
                <option value="">—</option>
                {(f.choices ?? []).map((c) => (
                  <option key={c} value={c} selected={query.get(f.name) === c}>
                    {c}
                  </option>
                ))}
              </select>
            )}
            {f.kind === 'text' && (
              <input
                name={f.name}
                type="text"
                value={listArg(query, f.name).join(', ')}
                placeholder={f.placeholder}
              />
            )}
            {f.kind === 'number' && (
              <input
                name={f.name}
                type="number"
                min={1}
                value={query.get(f.name) ?? ''}
                placeholder={f.placeholder}
              />
            )}
            {f.kind === 'check' && (
              <input name={f.name} type="checkbox" checked={boolArg(query, f.name)} />
            )}
            {f.kind === 'time' && (
              <input
                name={f.name}
                type="datetime-local"
                step={1}
                value={localInput(query, f.name)}
              />
            )}
          </label>
        ))}
        <div class="filter-actions">
          <button class="btn" type="submit">
            Apply
          </button>
          <a href={pageUrl(path, Object.fromEntries(keep.map((k) => [k, query.getAll(k)])))}>
            Clear
          </a>
        </div>
      </form>
    </details>
  );
}
