import { useNow } from '~/composables/useNow';
import { etaSeconds, etaText } from '~/lib/eta';

/** A running build's ETA, counting down by itself (only this text re-renders each second). */
export function Eta({ startedAt, average }: { startedAt?: string; average?: number }) {
  const now = useNow(average != null, 1000);
  const text = etaText(etaSeconds(startedAt, average, now));
  return text ? <span class="eta">{text}</span> : null;
}
