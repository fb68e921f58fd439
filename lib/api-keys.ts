import { hash, randomBytes } from 'node:crypto';

/** API keys are `gt_` + 32 random bytes (base64url); only their SHA-256 is stored. */
export function generateApiKey(): { key: string; hash: string; prefix: string } {
  const key = `gt_${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key), prefix: key.slice(0, 10) };
}

/** On every authenticated request (issue 21): the one-shot hash, about half the CPU of a Hash object. */
export function hashApiKey(key: string): string {
  return hash('sha256', key, 'hex');
}
