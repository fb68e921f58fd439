/** DC-9 retention configuration: defaults, the DC-6 floor for readings, and the register outliving the readings. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, MIN_READING_RETENTION_DAYS } from '../../lib/config.js';

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('retention configuration (DC-9)', () => {
  it('has the documented defaults (docs/retention.md)', () => {
    expect(loadConfig({}).retention).toEqual({
      caseDays: 1826,
      supplierReportDays: 1826,
      accessRegisterDays: 1826,
      readingDays: 1127,
      auditDetailsDays: 1826,
      batchRows: 5000,
      batchCases: 100,
      scheduleAt: { hour: 3, minute: 30 },
    });
  });

  it('takes the operator’s periods', () => {
    const r = loadConfig({
      RETENTION_CASE_DAYS: '730',
      RETENTION_READING_DAYS: '1200',
      RETENTION_ACCESS_REGISTER_DAYS: '1200',
      RETENTION_SCHEDULE_AT: '01:05',
    }).retention;
    expect(r).toMatchObject({
      caseDays: 730,
      readingDays: 1200,
      accessRegisterDays: 1200,
      scheduleAt: { hour: 1, minute: 5 },
    });
  });

  it.each([
    ['RETENTION_CASE_DAYS', '0'],
    ['RETENTION_CASE_DAYS', 'five years'],
    ['RETENTION_READING_DAYS', String(MIN_READING_RETENTION_DAYS - 1)], // DC-6: three years of history
    ['RETENTION_BATCH_ROWS', '0'],
    ['RETENTION_SCHEDULE_AT', '3:30'],
    ['RETENTION_SCHEDULE_AT', '24:00'],
  ])('rejects %s=%s naming the variable', (variable, value) => {
    const err = configErrorOf({ [variable]: value });
    expect(err.variable).toBe(variable);
    expect(err.message).toContain('expected');
  });

  it('keeps the access register at least as long as the readings (DC-5)', () => {
    const err = configErrorOf({ RETENTION_READING_DAYS: '1500', RETENTION_ACCESS_REGISTER_DAYS: '1499' });
    expect(err.variable).toBe('RETENTION_ACCESS_REGISTER_DAYS');
    expect(err.message).toContain('RETENTION_READING_DAYS (1500)');
  });

  it('keeps the access register no longer than five years, or the readings when they are kept longer (DC-9)', () => {
    const err = configErrorOf({ RETENTION_ACCESS_REGISTER_DAYS: '1827' });
    expect(err.variable).toBe('RETENTION_ACCESS_REGISTER_DAYS');
    expect(err.message).toContain('at most 1826');
    expect(
      loadConfig({ RETENTION_READING_DAYS: '2000', RETENTION_ACCESS_REGISTER_DAYS: '2000' }).retention,
    ).toMatchObject({ accessRegisterDays: 2000 });
    expect(configErrorOf({ RETENTION_READING_DAYS: '2000', RETENTION_ACCESS_REGISTER_DAYS: '2001' }).variable).toBe(
      'RETENTION_ACCESS_REGISTER_DAYS',
    );
  });
});
