import { describe, expect, it } from 'vitest';
import {
  addClockHours,
  addWorkingDaysDeadline,
  dutchHolidays,
  easterSunday,
  formatAmsterdam,
  isWorkingDay,
  withinOneWorkingDayDeadline,
  workingDaysBetween,
} from '../../domain/working-days.js';

const at = (iso: string): Date => {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new Error(`bad test instant ${iso}`);
  return d;
};
const deadline1 = (iso: string): string => withinOneWorkingDayDeadline(at(iso)).toISOString();
const deadlineN = (iso: string, n: number): string => addWorkingDaysDeadline(at(iso), n).toISOString();
const holidayMap = (year: number): Record<string, string> =>
  Object.fromEntries(dutchHolidays(year).map((h) => [h.name, h.date]));

describe('easterSunday (anonymous Gregorian algorithm)', () => {
  it.each([
    [2008, 3, 23],
    [2016, 3, 27],
    [2019, 4, 21],
    [2024, 3, 31],
    [2025, 4, 20],
    [2026, 4, 5],
    [2027, 3, 28],
    [2038, 4, 25], // latest possible date
  ])('%i → %i-%i', (year, month, day) => {
    expect(easterSunday(year)).toEqual({ month, day });
  });

  it('always falls on a Sunday between 22 March and 25 April', () => {
    for (let year = 1900; year <= 2200; year += 1) {
      const { month, day } = easterSunday(year);
      const d = new Date(Date.UTC(year, month - 1, day));
      expect(d.getUTCDay(), String(year)).toBe(0);
      const md = month * 100 + day;
      expect(md >= 322 && md <= 425, String(year)).toBe(true);
    }
  });
});

describe('dutchHolidays', () => {
  it('2024', () => {
    expect(holidayMap(2024)).toEqual({
      "New Year's Day": '2024-01-01',
      'Easter Monday': '2024-04-01',
      "King's Day": '2024-04-27',
      'Liberation Day': '2024-05-05',
      'Ascension Day': '2024-05-09',
      'Whit Monday': '2024-05-20',
      'Christmas Day': '2024-12-25',
      'Boxing Day': '2024-12-26',
    });
  });

  it("2025: King's Day on 26 April because 27 April 2025 is a Sunday", () => {
    expect(holidayMap(2025)).toEqual({
      "New Year's Day": '2025-01-01',
      'Easter Monday': '2025-04-21',
      "King's Day": '2025-04-26',
      'Liberation Day': '2025-05-05',
      'Ascension Day': '2025-05-29',
      'Whit Monday': '2025-06-09',
      'Christmas Day': '2025-12-25',
      'Boxing Day': '2025-12-26',
    });
  });

  it('2026, sorted by date, with Dutch names', () => {
    expect(dutchHolidays(2026)).toEqual([
      { date: '2026-01-01', name: "New Year's Day", nameNl: 'Nieuwjaarsdag' },
      { date: '2026-04-06', name: 'Easter Monday', nameNl: 'Tweede Paasdag' },
      { date: '2026-04-27', name: "King's Day", nameNl: 'Koningsdag' },
      { date: '2026-05-05', name: 'Liberation Day', nameNl: 'Bevrijdingsdag' },
      { date: '2026-05-14', name: 'Ascension Day', nameNl: 'Hemelvaartsdag' },
      { date: '2026-05-25', name: 'Whit Monday', nameNl: 'Tweede Pinksterdag' },
      { date: '2026-12-25', name: 'Christmas Day', nameNl: 'Eerste Kerstdag' },
      { date: '2026-12-26', name: 'Boxing Day', nameNl: 'Tweede Kerstdag' },
    ]);
  });

  it('2027', () => {
    expect(holidayMap(2027)).toMatchObject({
      'Easter Monday': '2027-03-29',
      "King's Day": '2027-04-27',
      'Ascension Day': '2027-05-06',
      'Whit Monday': '2027-05-17',
    });
  });

  it("King's Day 2014 and 2031 are 26 April (27 April is a Sunday)", () => {
    expect(holidayMap(2014)["King's Day"]).toBe('2014-04-26');
    expect(holidayMap(2031)["King's Day"]).toBe('2031-04-26');
    expect(holidayMap(2030)["King's Day"]).toBe('2030-04-27');
  });

  it('2016: Ascension Day coincides with 5 May; both are listed', () => {
    const h = dutchHolidays(2016);
    expect(h).toHaveLength(8);
    expect(h.filter((x) => x.date === '2016-05-05').map((x) => x.name)).toEqual(['Liberation Day', 'Ascension Day']);
  });

  it('Ascension = Easter + 39 days, Whit Monday = Easter + 50 days, Easter Monday = Easter + 1 (2000–2100)', () => {
    const dayMs = 86_400_000;
    for (let year = 2000; year <= 2100; year += 1) {
      const e = easterSunday(year);
      const easter = Date.UTC(year, e.month - 1, e.day);
      const iso = (offset: number): string => new Date(easter + offset * dayMs).toISOString().slice(0, 10);
      const m = holidayMap(year);
      expect(m['Easter Monday'], String(year)).toBe(iso(1));
      expect(m['Ascension Day'], String(year)).toBe(iso(39));
      expect(m['Whit Monday'], String(year)).toBe(iso(50));
      expect(new Date(`${m['Ascension Day']}T00:00:00Z`).getUTCDay()).toBe(4); // Thursday
    }
  });

  it('Good Friday is not a holiday', () => {
    expect(dutchHolidays(2026).some((h) => h.date === '2026-04-03')).toBe(false);
  });

  it('rejects invalid years', () => {
    expect(() => dutchHolidays(2026.5)).toThrow(RangeError);
    expect(() => dutchHolidays(1500)).toThrow(RangeError);
    expect(() => dutchHolidays(Number.NaN)).toThrow(RangeError);
  });
});

describe('isWorkingDay', () => {
  it('weekdays are working days, weekends are not', () => {
    expect(isWorkingDay('2026-06-01')).toBe(true); // Monday
    expect(isWorkingDay('2026-06-05')).toBe(true); // Friday
    expect(isWorkingDay('2026-06-06')).toBe(false); // Saturday
    expect(isWorkingDay('2026-06-07')).toBe(false); // Sunday
  });

  it('every holiday on a weekday is not a working day (2024–2030)', () => {
    for (let year = 2024; year <= 2030; year += 1) {
      for (const h of dutchHolidays(year)) expect(isWorkingDay(h.date), `${h.name} ${h.date}`).toBe(false);
    }
  });

  it('Good Friday 2026 is a working day; the Tuesday after Whit Monday too', () => {
    expect(isWorkingDay('2026-04-03')).toBe(true);
    expect(isWorkingDay('2026-05-26')).toBe(true);
  });

  it('a Date is judged by its Amsterdam calendar day', () => {
    expect(isWorkingDay(at('2026-06-01T22:30:00Z'))).toBe(true); // Tue 2 June 00:30 CEST
    expect(isWorkingDay(at('2026-06-06T21:59:59Z'))).toBe(false); // Sat 6 June 23:59:59 CEST
    expect(isWorkingDay(at('2026-06-07T22:00:00Z'))).toBe(true); // Mon 8 June 00:00 CEST (still Sunday in UTC)
    expect(isWorkingDay(at('2026-12-31T23:30:00Z'))).toBe(false); // Fri 1 Jan 2027 00:30 CET, New Year
    expect(isWorkingDay(at('2026-04-05T22:30:00Z'))).toBe(false); // Easter Monday 00:30 CEST
  });

  it('rejects malformed dates', () => {
    for (const bad of ['', '2026-6-1', '2026-02-30', '2026-13-01', '2026-06-01T00:00', '01-06-2026']) {
      expect(() => isWorkingDay(bad), bad).toThrow(RangeError);
    }
    expect(() => isWorkingDay(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('withinOneWorkingDayDeadline (GT-1, GT-8, GT-9)', () => {
  it('ordinary weekday: end of the next day', () => {
    // Tue 2 June 2026 10:00 CEST → end of Wed 3 June = Thu 00:00 CEST = 22:00Z
    expect(deadline1('2026-06-02T08:00:00Z')).toBe('2026-06-03T22:00:00.000Z');
  });

  it("the report's own day never counts, even early on a working day", () => {
    // Mon 1 June 2026 00:00:01 CEST → end of Tuesday 2 June
    expect(deadline1('2026-05-31T22:00:01Z')).toBe('2026-06-02T22:00:00.000Z');
  });

  it('winter time: deadline at +01:00', () => {
    // Mon 12 Jan 2026 10:00 CET → end of Tue 13 Jan = 23:00Z
    expect(deadline1('2026-01-12T09:00:00Z')).toBe('2026-01-13T23:00:00.000Z');
  });

  it('Friday report → end of Monday; Saturday and Sunday reports too', () => {
    expect(deadline1('2026-06-05T08:00:00Z')).toBe('2026-06-08T22:00:00.000Z'); // Fri
    expect(deadline1('2026-06-06T12:00:00Z')).toBe('2026-06-08T22:00:00.000Z'); // Sat
    expect(deadline1('2026-06-07T12:00:00Z')).toBe('2026-06-08T22:00:00.000Z'); // Sun
  });

  it('around Amsterdam midnight in UTC terms', () => {
    // 2026-06-01T21:59:59.999Z = Mon 1 June 23:59:59.999 CEST → end of Tue 2 June
    expect(deadline1('2026-06-01T21:59:59.999Z')).toBe('2026-06-02T22:00:00.000Z');
    // 2026-06-01T22:30Z = Tue 2 June 00:30 CEST → end of Wed 3 June
    expect(deadline1('2026-06-01T22:30:00Z')).toBe('2026-06-03T22:00:00.000Z');
    // Winter: 2026-01-12T22:59Z = Mon 23:59 CET; 23:00Z = Tue 00:00 CET
    expect(deadline1('2026-01-12T22:59:59Z')).toBe('2026-01-13T23:00:00.000Z');
    expect(deadline1('2026-01-12T23:00:00Z')).toBe('2026-01-14T23:00:00.000Z');
    // Fri 5 June 23:30 CEST is still Friday → end of Monday 8 June
    expect(deadline1('2026-06-05T21:30:00Z')).toBe('2026-06-08T22:00:00.000Z');
    // Sunday 7 June 22:30Z is Monday 8 June 00:30 CEST → end of Tuesday 9 June
    expect(deadline1('2026-06-07T22:30:00Z')).toBe('2026-06-09T22:00:00.000Z');
  });

  describe('every holiday in the rule is skipped', () => {
    it("New Year's Day: Thu 31 Dec 2026 → (Fri 1 Jan, weekend) → end of Mon 4 Jan 2027", () => {
      expect(deadline1('2026-12-31T11:00:00Z')).toBe('2027-01-04T23:00:00.000Z');
    });

    it("New Year's Day: Tue 31 Dec 2024 → (Wed 1 Jan) → end of Thu 2 Jan 2025", () => {
      expect(deadline1('2024-12-31T11:00:00Z')).toBe('2025-01-02T23:00:00.000Z');
    });

    it('Easter Monday: Fri 3 Apr 2026 (Good Friday, a working day) → end of Tue 7 Apr', () => {
      expect(deadline1('2026-04-03T10:00:00Z')).toBe('2026-04-07T22:00:00.000Z');
      // and Thursday → Good Friday itself counts
      expect(deadline1('2026-04-02T10:00:00Z')).toBe('2026-04-03T22:00:00.000Z');
    });

    it("King's Day: Fri 24 Apr 2026 → (Mon 27 Apr) → end of Tue 28 Apr", () => {
      expect(deadline1('2026-04-24T10:00:00Z')).toBe('2026-04-28T22:00:00.000Z');
    });

    it("King's Day 2025 on Saturday 26 April: Monday 28 April is an ordinary working day", () => {
      expect(deadline1('2025-04-25T10:00:00Z')).toBe('2025-04-28T22:00:00.000Z');
    });

    it('5 May: Mon 4 May 2026 → (Tue 5 May) → end of Wed 6 May', () => {
      expect(deadline1('2026-05-04T10:00:00Z')).toBe('2026-05-06T22:00:00.000Z');
    });

    it('5 May every year, not only in lustrum years', () => {
      // Thu 4 May 2028 → (Fri 5 May) → end of Mon 8 May
      expect(deadline1('2028-05-04T10:00:00Z')).toBe('2028-05-08T22:00:00.000Z');
      // Tue 4 May 2027 → (Wed 5 May, Thu 6 May = Ascension) → end of Fri 7 May
      expect(deadline1('2027-05-04T10:00:00Z')).toBe('2027-05-07T22:00:00.000Z');
    });

    it('Ascension Day: Wed 13 May 2026 → (Thu 14 May) → end of Fri 15 May', () => {
      expect(deadline1('2026-05-13T10:00:00Z')).toBe('2026-05-15T22:00:00.000Z');
    });

    it('Whit Monday: Fri 22 May 2026 → (Mon 25 May) → end of Tue 26 May', () => {
      expect(deadline1('2026-05-22T10:00:00Z')).toBe('2026-05-26T22:00:00.000Z');
    });

    it('Christmas Day and Boxing Day: Thu 24 Dec 2026 → (Fri 25, Sat 26, Sun 27) → end of Mon 28 Dec', () => {
      expect(deadline1('2026-12-24T10:00:00Z')).toBe('2026-12-28T23:00:00.000Z');
    });

    it('Christmas Day and Boxing Day on weekdays: Wed 24 Dec 2025 → (Thu 25, Fri 26, weekend) → end of Mon 29 Dec', () => {
      expect(deadline1('2025-12-24T10:00:00Z')).toBe('2025-12-29T23:00:00.000Z');
    });

    it('Boxing Day: a report on Christmas Day 2024 (Wed) → (Thu 26) → end of Fri 27 Dec', () => {
      expect(deadline1('2024-12-25T10:00:00Z')).toBe('2024-12-27T23:00:00.000Z');
    });

    it('generic: for 2024–2032 a report on the day before any weekday holiday never ends on that holiday', () => {
      for (let year = 2024; year <= 2032; year += 1) {
        for (const h of dutchHolidays(year)) {
          const holidayNoon = new Date(`${h.date}T10:00:00Z`);
          if ([0, 6].includes(holidayNoon.getUTCDay())) continue; // on a weekend anyway
          const dayBefore = new Date(holidayNoon.getTime() - 86_400_000);
          const dl = withinOneWorkingDayDeadline(dayBefore);
          // the deadline's day (the instant just before it) is a working day after the holiday
          const lastDay = new Date(dl.getTime() - 1);
          expect(isWorkingDay(lastDay), `${h.name} ${h.date}`).toBe(true);
          expect(lastDay.getTime(), `${h.name} ${h.date}`).toBeGreaterThan(holidayNoon.getTime());
        }
      }
    });
  });

  describe('DST switches', () => {
    it('March: Sat 28 Mar 2026 23:30 CET → end of Mon 30 Mar at +02:00', () => {
      // 23:30 CET = 22:30Z; Sunday 29 March is the switch; Monday 30 March 24:00 CEST = 22:00Z
      expect(deadline1('2026-03-28T22:30:00Z')).toBe('2026-03-30T22:00:00.000Z');
    });

    it('March: a report on the switch night itself (Sun 29 Mar 01:30 CET / 03:30 CEST)', () => {
      expect(deadline1('2026-03-29T00:30:00Z')).toBe('2026-03-30T22:00:00.000Z');
      expect(deadline1('2026-03-29T01:30:00Z')).toBe('2026-03-30T22:00:00.000Z');
    });

    it('March: a Friday report before the switch still ends at +02:00 on Monday', () => {
      expect(deadline1('2026-03-27T11:00:00Z')).toBe('2026-03-30T22:00:00.000Z');
    });

    it('October: Sat 24 Oct 2026 23:30 CEST → end of Mon 26 Oct at +01:00', () => {
      // 23:30 CEST = 21:30Z; Sunday 25 October is the switch; Monday 26 October 24:00 CET = 23:00Z
      expect(deadline1('2026-10-24T21:30:00Z')).toBe('2026-10-26T23:00:00.000Z');
      expect(deadline1('2026-10-23T10:00:00Z')).toBe('2026-10-26T23:00:00.000Z'); // Fri
    });

    it('October: the repeated hour on the switch night (02:30 CEST and 02:30 CET)', () => {
      expect(deadline1('2026-10-25T00:30:00Z')).toBe('2026-10-26T23:00:00.000Z');
      expect(deadline1('2026-10-25T01:30:00Z')).toBe('2026-10-26T23:00:00.000Z');
    });

    it('October: Thursday before the switch ends Friday at +02:00', () => {
      expect(deadline1('2026-10-22T10:00:00Z')).toBe('2026-10-23T22:00:00.000Z');
    });

    it('every deadline in 2024–2027 is exactly 00:00 on the Amsterdam clock', () => {
      const fmt = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Amsterdam',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      });
      for (let t = Date.UTC(2024, 0, 1, 5); t < Date.UTC(2028, 0, 1); t += 17 * 3_600_000) {
        const dl = withinOneWorkingDayDeadline(new Date(t));
        expect(fmt.format(dl), new Date(t).toISOString()).toBe('00:00');
        expect(dl.getTime()).toBeGreaterThan(t + 24 * 3_600_000 - 1);
      }
    });
  });
});

describe('addWorkingDaysDeadline (DC-6)', () => {
  it('n = 1 equals withinOneWorkingDayDeadline', () => {
    for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 1); t += 13 * 3_600_000) {
      const d = new Date(t);
      expect(addWorkingDaysDeadline(d, 1).getTime()).toBe(withinOneWorkingDayDeadline(d).getTime());
    }
  });

  it('5 working days: Mon 1 June 2026 → end of Mon 8 June', () => {
    expect(deadlineN('2026-06-01T08:00:00Z', 5)).toBe('2026-06-08T22:00:00.000Z');
  });

  it("15 working days across King's Day and 5 May: Mon 20 Apr 2026 → end of Wed 13 May", () => {
    // 21,22,23,24 Apr (4), [27 King's Day], 28,29,30 Apr, 1 May (8), 4 May (9), [5 May],
    // 6,7,8 May (12), 11,12,13 May (15)
    expect(deadlineN('2026-04-20T08:00:00Z', 15)).toBe('2026-05-13T22:00:00.000Z');
  });

  it('5 working days over Christmas and New Year: Mon 21 Dec 2026 → end of Tue 29 Dec', () => {
    // 22, 23, 24 Dec (3), [25, 26 holidays, 27 Sun], 28 (4), 29 (5)
    expect(deadlineN('2026-12-21T10:00:00Z', 5)).toBe('2026-12-29T23:00:00.000Z');
    // 10 days: 30, 31 Dec (7), [1 Jan], 4, 5, 6 Jan 2027 (10)
    expect(deadlineN('2026-12-21T10:00:00Z', 10)).toBe('2027-01-06T23:00:00.000Z');
  });

  it('5 working days across the March DST switch: Thu 26 Mar 2026 → end of Thu 2 Apr (+02:00)', () => {
    // 27 Mar (1), 30, 31 Mar, 1, 2 Apr (5)
    expect(deadlineN('2026-03-26T10:00:00Z', 5)).toBe('2026-04-02T22:00:00.000Z');
  });

  it('rejects n that is not a positive integer, and invalid Dates', () => {
    for (const n of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => addWorkingDaysDeadline(at('2026-06-01T08:00:00Z'), n), String(n)).toThrow(RangeError);
    }
    expect(() => withinOneWorkingDayDeadline(new Date('nope'))).toThrow(RangeError);
  });
});

describe('workingDaysBetween', () => {
  it('counts working days after the start day up to and including the end day', () => {
    expect(workingDaysBetween(at('2026-06-01T08:00:00Z'), at('2026-06-01T20:00:00Z'))).toBe(0);
    expect(workingDaysBetween(at('2026-06-01T08:00:00Z'), at('2026-06-02T08:00:00Z'))).toBe(1);
    expect(workingDaysBetween(at('2026-06-05T08:00:00Z'), at('2026-06-07T08:00:00Z'))).toBe(0); // Fri → Sun
    expect(workingDaysBetween(at('2026-06-05T08:00:00Z'), at('2026-06-08T08:00:00Z'))).toBe(1); // Fri → Mon
    expect(workingDaysBetween(at('2026-04-20T08:00:00Z'), at('2026-05-13T08:00:00Z'))).toBe(15);
    expect(workingDaysBetween(at('2026-06-08T08:00:00Z'), at('2026-06-01T08:00:00Z'))).toBe(0); // reversed
  });

  it('agrees with addWorkingDaysDeadline: done at `end` is on time iff count <= n', () => {
    const start = at('2026-12-21T10:00:00Z');
    for (const n of [1, 5, 15]) {
      const dl = addWorkingDaysDeadline(start, n);
      for (let t = start.getTime(); t < dl.getTime() + 10 * 86_400_000; t += 5 * 3_600_000) {
        const onTime = t < dl.getTime();
        expect(workingDaysBetween(start, new Date(t)) <= n, `n=${n} ${new Date(t).toISOString()}`).toBe(onTime);
      }
    }
  });
});

describe('addClockHours (GT-3, GT-4: 72 clock hours)', () => {
  it('is plain epoch arithmetic', () => {
    expect(addClockHours(at('2026-06-01T08:00:00Z'), 72).toISOString()).toBe('2026-06-04T08:00:00.000Z');
    expect(addClockHours(at('2026-06-01T08:00:00Z'), 0.5).toISOString()).toBe('2026-06-01T08:30:00.000Z');
  });

  it('ignores DST: across the March switch the Amsterdam clock moves 73 hours', () => {
    // Sat 28 Mar 2026 13:00 CET + 72 h = Tue 31 Mar 14:00 CEST
    const start = at('2026-03-28T12:00:00Z');
    const end = addClockHours(start, 72);
    expect(end.toISOString()).toBe('2026-03-31T12:00:00.000Z');
    expect(formatAmsterdam(end, 'en')).toBe('Tuesday 31 March 2026 at 14:00 (Amsterdam time)');
  });

  it('ignores DST: across the October switch the Amsterdam clock moves 71 hours', () => {
    // Sat 24 Oct 2026 14:00 CEST + 72 h = Tue 27 Oct 13:00 CET
    const end = addClockHours(at('2026-10-24T12:00:00Z'), 72);
    expect(end.toISOString()).toBe('2026-10-27T12:00:00.000Z');
    expect(formatAmsterdam(end, 'nl')).toBe('dinsdag 27 oktober 2026 om 13:00 (Amsterdamse tijd)');
  });

  it('rejects invalid input', () => {
    expect(() => addClockHours(new Date(Number.NaN), 72)).toThrow(RangeError);
    expect(() => addClockHours(at('2026-06-01T08:00:00Z'), Number.NaN)).toThrow(RangeError);
  });
});

describe('formatAmsterdam', () => {
  it('Dutch and English, winter time', () => {
    const d = at('2026-11-24T13:05:00Z'); // 14:05 CET
    expect(formatAmsterdam(d, 'nl')).toBe('dinsdag 24 november 2026 om 14:05 (Amsterdamse tijd)');
    expect(formatAmsterdam(d, 'en')).toBe('Tuesday 24 November 2026 at 14:05 (Amsterdam time)');
  });

  it('summer time and the Amsterdam date, not the UTC date', () => {
    const d = at('2026-06-01T22:30:00Z'); // Tue 2 June 00:30 CEST
    expect(formatAmsterdam(d, 'nl')).toBe('dinsdag 2 juni 2026 om 00:30 (Amsterdamse tijd)');
    expect(formatAmsterdam(d, 'en')).toBe('Tuesday 2 June 2026 at 00:30 (Amsterdam time)');
  });

  it('endOfDay renders a deadline as 24:00 of its last day', () => {
    const dl = withinOneWorkingDayDeadline(at('2026-03-28T22:30:00Z'));
    expect(formatAmsterdam(dl, 'nl')).toBe('dinsdag 31 maart 2026 om 00:00 (Amsterdamse tijd)');
    expect(formatAmsterdam(dl, 'nl', { endOfDay: true })).toBe('maandag 30 maart 2026 om 24:00 (Amsterdamse tijd)');
    expect(formatAmsterdam(dl, 'en', { endOfDay: true })).toBe('Monday 30 March 2026 at 24:00 (Amsterdam time)');
    // not exactly midnight: unchanged
    expect(formatAmsterdam(at('2026-03-30T22:00:30Z'), 'en', { endOfDay: true })).toBe(
      'Tuesday 31 March 2026 at 00:00 (Amsterdam time)',
    );
  });

  it('all month and weekday names', () => {
    const nl = [];
    const en = [];
    for (let month = 0; month < 12; month += 1) {
      const d = new Date(Date.UTC(2026, month, 15, 10));
      nl.push(formatAmsterdam(d, 'nl').split(' ')[2]);
      en.push(formatAmsterdam(d, 'en').split(' ')[2]);
    }
    expect(nl).toEqual([
      'januari',
      'februari',
      'maart',
      'april',
      'mei',
      'juni',
      'juli',
      'augustus',
      'september',
      'oktober',
      'november',
      'december',
    ]);
    expect(en).toEqual([
      'January',
      'February',
      'March',
      'April',
      'May',
      'June',
      'July',
      'August',
      'September',
      'October',
      'November',
      'December',
    ]);
    // Mon 1 June 2026 … Sun 7 June 2026
    const days = [1, 2, 3, 4, 5, 6, 7].map(
      (day) => formatAmsterdam(new Date(Date.UTC(2026, 5, day, 10)), 'nl').split(' ')[0],
    );
    expect(days).toEqual(['maandag', 'dinsdag', 'woensdag', 'donderdag', 'vrijdag', 'zaterdag', 'zondag']);
  });
});
