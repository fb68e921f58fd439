import { randomBytes } from 'node:crypto';
import type { DataConverter } from '@temporalio/common';
import { loadConfig } from '../lib/config.js';
import { temporalDataConverter } from '../lib/infra/payload-codec.js';

/** Benchmark knobs come from environment variables; a bad value stops the run with its name. */
export const intEnv = (name: string, fallback: number, min = 1): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
};

/**
 * The payload codec key of one bench run (the benches run with NODE_ENV=production, which requires one): random, as a
 * real key is, and shared by every process of the run through their environment.
 */
export const BENCH_CODEC_ENV = {
  TEMPORAL_CODEC_KEYS: process.env['TEMPORAL_CODEC_KEYS'] ?? `bench:${randomBytes(32).toString('base64')}`,
  ...(process.env['TEMPORAL_CODEC_KEY_ID'] ? { TEMPORAL_CODEC_KEY_ID: process.env['TEMPORAL_CODEC_KEY_ID'] } : {}),
};

/** For the benches' own Temporal clients (describe, count): the run's codec, as its processes have it. */
export const benchDataConverter = (): DataConverter =>
  temporalDataConverter(loadConfig(BENCH_CODEC_ENV).temporal.codec);
