// Page URLs hold the page's state as 0.8.9's query arguments: lists repeat the argument
// (`builder=a&builder=b`), and an empty value means "not set".

export type ArgValue = string | number | boolean | readonly string[] | null | undefined;

/** `path` with `args` as its query, empty values and `false` left out. */
export function pageUrl(path: string, args: Record<string, ArgValue>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(args)) {
    if (v == null || v === '' || v === false) continue;
    if (Array.isArray(v)) {
      for (const item of v) if (item !== '') q.append(k, item);
    } else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

/** The values of the arguments named `keys` (repeated, or comma-separated in one value). */
export function listArg(query: URLSearchParams, ...keys: string[]): string[] {
  return keys
    .flatMap((k) => query.getAll(k))
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The argument as a boolean (`true`, `1`, `yes`, `on`). */
export function boolArg(query: URLSearchParams, key: string): boolean {
  return ['true', '1', 'yes', 'on'].includes((query.get(key) ?? '').toLowerCase());
}

/** The argument as a non-negative number, or undefined. */
export function numberArg(query: URLSearchParams, key: string): number | undefined {
  const v = query.get(key);
  if (v == null || v.trim() === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** Whether a value matches a `branch=` filter (`trunk` also matches the default branch). */
export function branchMatches(branches: readonly string[], branch: string | null | undefined) {
  if (branches.length === 0) return true;
  if (branch == null) return branches.includes('trunk');
  return branches.includes(branch);
}

/** The `property.NAME=VALUE` arguments the builds lists filter by, as [NAME, VALUE] in URL order. */
export function propertyArgs(query: URLSearchParams): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of query)
    if (k.startsWith('property.') && k.length > 9) out.push([k.slice(9), v]);
  return out;
}

/** `query` with one `property.NAME` argument set to `value`, or removed when `value` is null. */
export function withProperty(query: URLSearchParams, name: string, value: string | null): string {
  const q = new URLSearchParams(query);
  q.delete(`property.${name}`);
  if (value != null && name.trim() !== '') q.set(`property.${name.trim()}`, value);
  return q.toString();
}
