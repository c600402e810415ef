import { useState } from 'preact/hooks';
import { navigate, paths } from '~/router';

/** The `dialect=` filter of the delivery log; applying it starts again at the newest. */
export function DialectFilter({ dialect }: { dialect: string }) {
  const [value, setValue] = useState(dialect);
  return (
    <form
      class="form filter-form"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        navigate(paths.hooks(value.trim()));
      }}
    >
      <label>
        Dialect
        <input
          name="dialect"
          value={value}
          placeholder="all"
          onInput={(e) => setValue(e.currentTarget.value)}
        />
      </label>
      <button type="submit" class="btn">
        Filter
      </button>
      {dialect && <a href={paths.hooks()}>All dialects</a>}
    </form>
  );
}
