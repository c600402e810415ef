import { useState } from 'preact/hooks';
import { propertyArgs, withProperty } from '~/lib/query';
import { navigate } from '~/router';

/** `property.NAME=VALUE` filters of a builds list: the active ones removable, a form to add one. */
export function PropertyFilter({ path, query }: { path: string; query: URLSearchParams }) {
  const [name, setName] = useState('');
  const [value, setValue] = useState('');
  const go = (qs: string) => navigate(qs ? `${path}?${qs}` : path);
  const active = propertyArgs(query);
  return (
    <div class="property-filter" data-testid="property-filter">
      {active.map(([prop, v]) => {
        return (
          <span class="chip" key={`${prop}=${v}`}>
            {prop} = {v}{' '}
            <button
              type="button"
              class="btn btn-small btn-quiet"
              aria-label={`Remove the filter on ${prop}`}
              onClick={() => go(withProperty(query, prop, null))}
            >
              ×
            </button>
          </span>
        );
      })}
      <form
        class="inline-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (name.trim()) go(withProperty(query, name, value));
        }}
      >
        <input
          aria-label="Property name"
          placeholder="property"
          value={name}
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <input
          aria-label="Property value"
          placeholder="value"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
        />
        <button type="submit" class="btn btn-small">
          Filter
        </button>
      </form>
    </div>
  );
}
