/**
 * The signal report's charts in the reader's language (issue 19): a column's heading and a row's category (a status,
 * a channel, a deadline) from the catalogue. One home for the console's tables (console/views/report.tsx) and the
 * API's SVG (services/reports/signal-charts.ts), so the picture and the table under it say the same words.
 */
import { isMessageKey, t, type Lang } from './messages.js';

/** A column's heading (the API's label when the catalogue has none). */
export function chartColumnLabel(lang: Lang, key: string, fallback: string): string {
  const k = `report.col.${key}`;
  return isMessageKey(k) ? t(lang, k) : fallback;
}

/** A row's category: a status, a channel or a deadline by its catalogue name; a period as the API names it. */
export function chartCategoryLabel(lang: Lang, key: string, value: string): string {
  const k = { status: `status.${value}`, channel: `report.channel.${value}`, deadline: `report.deadline.${value}` }[
    key
  ];
  return k && isMessageKey(k) ? t(lang, k) : value;
}
