/** Benchmark knobs come from environment variables; a bad value stops the run with its name. */
export const intEnv = (name: string, fallback: number, min = 1): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
};
