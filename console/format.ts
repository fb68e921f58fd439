/** Times as people here read them (issue 19): Europe/Amsterdam, in the person's language; time left to a deadline. */
import { DateTime } from 'luxon';
import { t, type Lang } from '../lib/messages.js';

const ZONE = 'Europe/Amsterdam';

/** "ma 7 dec 2026 14:05" / "Mon 7 Dec 2026 14:05", Amsterdam time. */
export function when(iso: string | null | undefined, lang: Lang): string {
  if (!iso) return t(lang, 'time.none');
  return DateTime.fromISO(iso, { zone: ZONE })
    .setLocale(lang === 'nl' ? 'nl-NL' : 'en-GB')
    .toFormat('ccc d LLL yyyy HH:mm');
}

/** The value of an <input type="datetime-local"> (Amsterdam wall time) as an instant, or null when invalid. */
export function fromLocalInput(value: string): string | null {
  const dt = DateTime.fromISO(value, { zone: ZONE });
  return dt.isValid ? dt.toUTC().toISO() : null;
}

/** "nog 2 d 3 u" / "2 d 3 h left", "1 u 5 min te laat"; minutes below a day, no seconds. */
export function timeLeft(dueIso: string | null | undefined, now: number, lang: Lang): string {
  if (!dueIso) return t(lang, 'time.none');
  const ms = Date.parse(dueIso) - now;
  const minutes = Math.floor(Math.abs(ms) / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const [du, hu] = lang === 'nl' ? ['d', 'u'] : ['d', 'h'];
  const duration = d > 0 ? `${d} ${du} ${h} ${hu}` : h > 0 ? `${h} ${hu} ${m} min` : `${m} min`;
  return t(lang, ms >= 0 ? 'time.left' : 'time.overdue', { duration });
}

/** "8.001" / "8,001": a count as the person's language writes it. */
export const count = (n: number, lang: Lang): string => n.toLocaleString(lang === 'nl' ? 'nl-NL' : 'en-GB');
