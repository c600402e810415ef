// A builder's history as the server draws it (`/plots/builders/{b}/…`), and its README
// badge and feed to copy.

const PLOTS = [
  ['durations', 'Build durations'],
  ['results', 'Pass rate per day'],
  ['steps', 'Step durations'],
] as const;

const WIDTH = 480;
const HEIGHT = 240;

/**
 * The three plots, loaded only when scrolled to. `version` (the number of the builder's
 * last build) is part of their URLs, so a finished build draws them again.
 */
export function BuilderPlots({ builder, version }: { builder: string; version: number }) {
  const name = encodeURIComponent(builder);
  const badge = `${location.origin}/badges/${name}.svg`;
  return (
    <>
      <div class="builder-plots" data-testid="builder-plots">
        {PLOTS.map(([plot, title]) => (
          <figure key={plot} data-plot={plot}>
            <img
              src={`/plots/builders/${name}/${plot}.png?width=${WIDTH}&height=${HEIGHT}&v=${version}`}
              alt={`${title} of ${builder}`}
              width={WIDTH}
              height={HEIGHT}
              loading="lazy"
              decoding="async"
            />
            <figcaption>{title}</figcaption>
          </figure>
        ))}
      </div>
      <p class="builder-links small">
        <img src={`/badges/${name}.svg?v=${version}`} alt={`${builder} status badge`} /> Badge:{' '}
        <code class="mono">{`![${builder}](${badge})`}</code> · Failures as{' '}
        <a href={`/rss?builder=${name}`} data-native>
          RSS
        </a>{' '}
        or{' '}
        <a href={`/atom?builder=${name}`} data-native>
          Atom
        </a>
      </p>
    </>
  );
}
