import { safeHref } from '~/lib/links';

/** A project (or repository) name, linked to its page by `[web] projects` (`repositories`). */
export function ProjectLink({ name, href }: { name: string; href?: string }) {
  if (!name) return null;
  const url = safeHref(href);
  return url ? (
    <a class="project" href={url} rel="noopener noreferrer" data-native>
      {name}
    </a>
  ) : (
    <span class="project">{name}</span>
  );
}
