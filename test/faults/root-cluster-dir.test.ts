/**
 * `npm run up` as root in a clone the postgres user cannot pass (any clone under /root, mode 700): the
 * cluster is placed where that user can reach it, the same place at every start (data kept), and the
 * start says so. Runs as root only (the CI and this machine run as root); elsewhere nothing is moved.
 */
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterDirFor, ROOT_CLUSTER_BASE } from '../../lib/infra/embedded-postgres.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe.runIf(userInfo().uid === 0)('cluster directory as root', () => {
  it('a data directory behind a mode-700 directory is placed under /var/lib, the same at every start, and said', async () => {
    const home = await mkdtemp(join(tmpdir(), 'gt-root-home-'));
    dirs.push(home);
    await chmod(home, 0o700);
    const asked = join(home, 'clone', '.data', 'postgres');
    await mkdir(join(home, 'clone', '.data'), { recursive: true });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const placed = await clusterDirFor(asked, logger);
    expect(placed.startsWith(`${ROOT_CLUSTER_BASE}/postgres-`)).toBe(true);
    expect(await clusterDirFor(asked, logger)).toBe(placed);
    expect(lines.join('')).toContain(placed);
    expect(lines.join('')).toContain(home);
  });

  it('a reachable data directory stays where it was asked', async () => {
    const open = await mkdtemp(join(tmpdir(), 'gt-root-open-'));
    dirs.push(open);
    await chmod(open, 0o711);
    const asked = join(open, 'postgres');
    expect(await clusterDirFor(asked, pino({ level: 'silent' }))).toBe(asked);
  });
});
