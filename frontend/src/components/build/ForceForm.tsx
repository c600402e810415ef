import { useState } from 'preact/hooks';
import { ApiError, apiPost } from '~/api/client';

export const DEFAULT_REASON = 'forced from the web';

interface Fields {
  reason: string;
  branch: string;
  revision: string;
  repository: string;
  project: string;
}

const EMPTY: Fields = {
  reason: DEFAULT_REASON,
  branch: '',
  revision: '',
  repository: '',
  project: '',
};

/** The force form's JSON body: empty fields left out, properties from their rows. */
export function forceBody(fields: Fields, props: [string, string][]) {
  const properties = Object.fromEntries(
    props.map(([k, v]) => [k.trim(), v] as const).filter(([k]) => k !== ''),
  );
  const text = (v: string) => (v.trim() ? v.trim() : undefined);
  return {
    reason: text(fields.reason) ?? DEFAULT_REASON,
    branch: text(fields.branch),
    revision: text(fields.revision),
    repository: text(fields.repository),
    project: text(fields.project),
    ...(Object.keys(properties).length ? { properties } : {}),
  };
}

interface Props {
  /** The builder to force, or null for every builder that can be forced. */
  builder: string | null;
  /** Called with the server's answer once the build is queued. */
  onForced?: (message: string) => void;
}

/**
 * The force form of a builder (or of all builders): reason, branch, revision, repository,
 * project and properties as name/value rows.
 */
export function ForceForm({ builder, onForced }: Props) {
  const [fields, setFields] = useState<Fields>(EMPTY);
  const [props, setProps] = useState<[string, string][]>([['', '']]);
  const [busy, setBusy] = useState(false);
  const [said, setSaid] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function submit() {
    setBusy(true);
    setError(null);
    setSaid(null);
    try {
      const body = forceBody(fields, props);
      let message: string;
      if (builder == null) {
        message = (await apiPost('/builders/_all/force', body)).message;
      } else {
        const r = await apiPost('/builders/{name}/force', body, { params: { name: builder } });
        message = `Build requested (${r.buildrequest_ids.length} request${r.buildrequest_ids.length === 1 ? '' : 's'})`;
      }
      setSaid(message);
      onForced?.(message);
    } catch (e) {
      setError(e instanceof ApiError ? `${e.message} (${e.status})` : String(e));
    } finally {
      setBusy(false);
    }
  }

  const input = (key: keyof Fields, label: string) => (
    <label>
      {label}
      <input
        name={key}
        value={fields[key]}
        onInput={(e) => setFields({ ...fields, [key]: e.currentTarget.value })}
      />
    </label>
  );
  const setProp = (i: number, at: 0 | 1, value: string) =>
    setProps(props.map((p, j) => (j === i ? (at === 0 ? [value, p[1]] : [p[0], value]) : p)));

  return (
    <form
      class="force-form"
      data-testid="force-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {input('reason', 'Reason')}
      {input('branch', 'Branch')}
      {input('revision', 'Revision')}
      {input('repository', 'Repository')}
      {input('project', 'Project')}
      <fieldset class="force-props">
        <legend>Properties</legend>
        {props.map(([k, v], i) => (
          <div class="prop-row" key={i}>
            <input
              aria-label={`Property ${i + 1} name`}
              placeholder="name"
              value={k}
              onInput={(e) => setProp(i, 0, e.currentTarget.value)}
            />
            <input
              aria-label={`Property ${i + 1} value`}
              placeholder="value"
              value={v}
              onInput={(e) => setProp(i, 1, e.currentTarget.value)}
            />
          </div>
        ))}
        <button type="button" class="btn btn-small" onClick={() => setProps([...props, ['', '']])}>
          Add property
        </button>
      </fieldset>
      <button type="submit" class="btn" disabled={busy}>
        {busy ? 'Forcing…' : builder == null ? 'Force all builders' : 'Force build'}
      </button>
      {said && (
        <div class="ok small" role="status">
          {said}
        </div>
      )}
      {error && (
        <div class="error-box small" role="alert">
          {error}
        </div>
      )}
    </form>
  );
}
