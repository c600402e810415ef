import { useState } from 'preact/hooks';
import { applyTheme, nextTheme, storedTheme, type ThemeChoice } from '~/lib/theme';

const LABEL: Record<ThemeChoice, string> = { system: 'Auto', light: 'Light', dark: 'Dark' };

/** Cycles the colour theme: following the system, light, dark. */
export function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>(storedTheme);
  const next = nextTheme(choice);
  return (
    <button
      type="button"
      class="theme-toggle"
      data-testid="theme-toggle"
      data-theme-choice={choice}
      title={`Theme: ${LABEL[choice]} (switch to ${LABEL[next]})`}
      aria-label={`Theme: ${LABEL[choice]}; switch to ${LABEL[next]}`}
      onClick={() => {
        applyTheme(next);
        setChoice(next);
      }}
    >
      {choice === 'dark' ? '☾' : choice === 'light' ? '☀' : '◐'} {LABEL[choice]}
    </button>
  );
}
