import { loadConfig } from '../../src/config.js';
import { formatTier } from '../../src/reminders/tiers.js';

const env = (extra: Record<string, string>) => ({ AUTH_DEV_MODE: 'true', ...extra });

describe('REMINDER_TIERS', () => {
  it('defaults to 24 h and 1 h before the due date', () => {
    expect(loadConfig(env({})).reminders.tiersSeconds).toEqual([86_400, 3_600]);
  });

  it('takes s, m, h and d, largest first, without duplicates; empty means no reminders', () => {
    expect(loadConfig(env({ REMINDER_TIERS: '5m, 24h,1h,60m' })).reminders.tiersSeconds).toEqual([86_400, 3_600, 300]);
    expect(loadConfig(env({ REMINDER_TIERS: '3s,1s' })).reminders.tiersSeconds).toEqual([3, 1]);
    expect(loadConfig(env({ REMINDER_TIERS: '2d' })).reminders.tiersSeconds).toEqual([172_800]);
    expect(loadConfig(env({ REMINDER_TIERS: '' })).reminders.tiersSeconds).toEqual([]);
  });

  it.each(['1x', '0h', '-1h', '1.5h', 'h', '24h;1h'])('refuses %p, naming the variable', (value) => {
    expect(() => loadConfig(env({ REMINDER_TIERS: value }))).toThrow(/REMINDER_TIERS: a comma-separated list of durations/);
  });

  it('NOTIFICATION_RETENTION_DAYS defaults to 90 and must be a positive whole number of days', () => {
    expect(loadConfig(env({})).notifications.retentionDays).toBe(90);
    expect(loadConfig(env({ NOTIFICATION_RETENTION_DAYS: '30' })).notifications.retentionDays).toBe(30);
    expect(() => loadConfig(env({ NOTIFICATION_RETENTION_DAYS: '0' }))).toThrow(/NOTIFICATION_RETENTION_DAYS/);
  });
});

describe('formatTier', () => {
  it.each([
    [86_400, '24h'],
    [3_600, '1h'],
    [300, '5m'],
    [90, '90s'],
    [3, '3s'],
    [172_800, '2d'],
  ])('%d s → %s', (seconds, text) => {
    expect(formatTier(seconds)).toBe(text);
  });
});
