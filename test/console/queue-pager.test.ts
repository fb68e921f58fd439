/**
 * Issue 19, the queue in pages of 50 (console/cases.ts QUEUE_PAGE; GET /work-items pages in SQL): the pager under
 * the table says which rows these are of how many, in the person's language, and links to the previous and next
 * page as plain links (no JavaScript needed), keeping the search.
 */
import { describe, expect, it } from 'vitest';
import { renderToString } from 'preact-render-to-string';
import { QueuePage } from '../../console/views/queue.js';

const ctx = { lang: 'nl' as const, csrf: 'x', path: '/console/queue' };
const render = (paging: { page: number; size: number; total: number }, q?: string, lang: 'nl' | 'en' = 'nl') =>
  renderToString(
    QueuePage({
      ctx: { ...ctx, lang },
      items: [],
      now: Date.parse('2026-12-07T10:00:00Z'),
      search: q ? { q, items: [], total: 0 } : undefined,
      paging,
    }),
  );

describe('the work queue pager', () => {
  it('is absent when the queue fits one page', () => {
    expect(render({ page: 1, size: 50, total: 50 })).not.toContain('class="pager"');
  });

  it('on the first page links to the next one only', () => {
    const html = render({ page: 1, size: 50, total: 8001 });
    expect(html).toContain('1–50 van 8.001');
    expect(html).toContain('href="/console/queue?page=2" rel="next"');
    expect(html).not.toContain('rel="prev"');
  });

  it('in the middle links both ways and keeps the search; the last page ends at the total', () => {
    const mid = render({ page: 2, size: 50, total: 120 }, 'ACME');
    expect(mid).toContain('51–100 van 120');
    expect(mid).toContain('href="/console/queue?q=ACME&amp;page=1" rel="prev"');
    expect(mid).toContain('href="/console/queue?q=ACME&amp;page=3" rel="next"');
    const last = render({ page: 3, size: 50, total: 120 }, undefined, 'en');
    expect(last).toContain('101–120 of 120');
    expect(last).not.toContain('rel="next"');
  });
});
