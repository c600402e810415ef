// Links made from data (revlinks, comment links, project pages): only http(s) and paths on
// this site ever become an href, whatever a change source stored.

export function safeHref(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  const u = url.trim();
  if (/^https?:\/\//i.test(u)) return u;
  if (u.startsWith('/') && !u.startsWith('//') && !u.startsWith('/\\')) return u;
  return undefined;
}

/** A revision as shown in narrow places: 12 characters of a hash, a number as is. */
export function shortRev(revision: string | null | undefined): string {
  if (!revision) return '';
  return /^[0-9a-f]{13,}$/i.test(revision) ? revision.slice(0, 12) : revision;
}
