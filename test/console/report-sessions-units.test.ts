/**
 * Issue 19, the report page's period and the sessions page's browser names, without a browser: the form's
 * Amsterdam calendar dates become the API's window [start of the first day, start of the day after the last),
 * across the clock changes; what is not a date is named back.
 */
import { describe, expect, it } from 'vitest';
import { periodOf } from '../../console/reports.js';
import { browserSummary } from '../../console/views/sessions.js';

describe('the report period (console/reports.ts periodOf)', () => {
  it('takes Amsterdam days, the last one included, across both clock changes', () => {
    expect(periodOf({ from: '2026-03-29', to: '2026-10-25', groupBy: 'week' }, new Date())).toEqual({
      fromDate: '2026-03-29',
      toDate: '2026-10-25',
      from: '2026-03-28T23:00:00.000Z', // before the spring change: CET
      to: '2026-10-25T23:00:00.000Z', // 26 October 00:00 after the autumn change: CET again
      groupBy: 'week',
    });
    expect(periodOf({ from: '2026-07-01', to: '2026-07-01' }, new Date())).toMatchObject({
      from: '2026-06-30T22:00:00.000Z',
      to: '2026-07-01T22:00:00.000Z',
      groupBy: 'month',
    });
  });

  it('defaults to the last 90 days up to and including today (Amsterdam)', () => {
    // 23:30 UTC on 7 December is 8 December in Amsterdam.
    const p = periodOf({}, new Date('2026-12-07T23:30:00Z'));
    expect(p).toEqual({
      fromDate: '2026-09-10',
      toDate: '2026-12-08',
      from: '2026-09-09T22:00:00.000Z',
      to: '2026-12-08T23:00:00.000Z',
      groupBy: 'month',
    });
  });

  it('names what is not a date, and ignores an unknown grouping', () => {
    expect(periodOf({ from: '2026-02-30' }, new Date())).toEqual({ invalid: '2026-02-30' });
    expect(periodOf({ to: '2026-1-5' }, new Date())).toEqual({ invalid: '2026-1-5' });
    expect(periodOf({ from: '2026-01-01T10:00' }, new Date())).toEqual({ invalid: '2026-01-01T10:00' });
    expect(periodOf({ from: '2026-01-01', to: '2026-01-31', groupBy: 'year' }, new Date())).toMatchObject({
      groupBy: 'month',
    });
  });
});

describe('the browser of a session (views/sessions.tsx browserSummary)', () => {
  it('names the browser, its version and the system', () => {
    const cases: Array<[string, string]> = [
      [
        'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86',
        'Edge 131, Windows',
      ],
      ['Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0', 'Firefox 133, Linux'],
      [
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15',
        'Safari 18, macOS',
      ],
      [
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1',
        'Safari 18, iOS',
      ],
      [
        'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36',
        'Chrome 131, Android',
      ],
      [
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36',
        'Chrome (headless) 131, Linux',
      ],
    ];
    for (const [ua, name] of cases) expect(browserSummary(ua, 'nl')).toBe(name);
    expect(browserSummary(null, 'nl')).toBe('onbekende browser');
    expect(browserSummary(null, 'en')).toBe('unknown browser');
    expect(browserSummary('curl/8.5.0', 'en')).toBe('curl/8.5.0');
  });
});
