import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres } from '../../lib/infra/embedded-postgres.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gt-pgtest-'));
  // mkdtemp makes it 0700; as root, postgres runs as the postgres user and must be able to pass through.
  await chmod(root, 0o755);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function query<T extends object>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    return (await sql.unsafe(text)) as unknown as T[];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return true;
}

describe('embedded PostgreSQL', () => {
  it('persistent mode keeps data across a restart and creates the application database once', async () => {
    const dataDir = join(root, 'persist', 'postgres');
    const first = await startEmbeddedPostgres({ dataDir, persistent: true, port: 0 });
    expect(first.url).toMatch(/\/gerede_twijfel$/);
    await query(
      first.url,
      'CREATE TABLE kept (id int primary key, note text); INSERT INTO kept VALUES (1, $$survives$$)',
    );
    await first.stop();
    expect(alive(first.pid)).toBe(false);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);

    const second = await startEmbeddedPostgres({ dataDir, persistent: true, port: 0 });
    try {
      expect(await query<{ note: string }>(second.url, 'SELECT note FROM kept WHERE id = 1')).toEqual([
        { note: 'survives' },
      ]);
    } finally {
      await second.stop();
    }
  });

  it('starts over a stale postmaster.pid left by a crash', async () => {
    const dataDir = join(root, 'stale', 'postgres');
    const pg = await startEmbeddedPostgres({ dataDir, persistent: true });
    await pg.stop();
    // A crash leaves the lock file behind; its pid may even belong to an unrelated live process (pid 1 here).
    await writeFile(
      join(dataDir, 'postmaster.pid'),
      `1\n${dataDir}\n1700000000\n5432\n\n127.0.0.1\n  5432001    65536\nready   \n`,
    );
    const again = await startEmbeddedPostgres({ dataDir, persistent: true });
    try {
      expect(await query<{ one: number }>(again.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await again.stop();
    }
  });

  it('postgres dies with its parent, even when the parent is SIGKILLed, and the next start works', async () => {
    const dataDir = join(root, 'orphan', 'postgres');
    const script = `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(new URL('../../lib/infra/embedded-postgres.ts', import.meta.url).pathname)});
      const pg = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, persistent: true });
      process.stdout.write(JSON.stringify({ pid: pg.pid }) + '\\n');
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`child exited early with ${code}`)));
    });
    const { pid } = JSON.parse(line) as { pid: number };
    const postmasterPid = Number(
      (await import('node:fs')).readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0],
    );
    expect(alive(postmasterPid)).toBe(true);
    child.kill('SIGKILL');
    expect(await until(() => !alive(postmasterPid) && !alive(pid), 20_000)).toBe(true);

    const next = await startEmbeddedPostgres({ dataDir, persistent: true });
    try {
      expect(await query<{ one: number }>(next.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await next.stop();
    }
  });

  it('says so when the postgres user cannot reach the data directory (running as root)', async () => {
    if (process.getuid?.() !== 0) return; // only root hands the cluster to another user
    const closed = join(root, 'closed');
    await (await import('node:fs/promises')).mkdir(closed, { mode: 0o700 });
    await chmod(closed, 0o700);
    await expect(startEmbeddedPostgres({ dataDir: join(closed, 'postgres'), persistent: true })).rejects.toThrow(
      /cannot reach .*chmod o\+x/,
    );
  });

  it('refuses a second start on a data directory whose postgres is still running, and leaves that one alone', async () => {
    const dataDir = join(root, 'busy', 'postgres');
    const first = await startEmbeddedPostgres({ dataDir, persistent: true });
    try {
      await expect(startEmbeddedPostgres({ dataDir, persistent: true })).rejects.toThrow(
        /already running on .*busy\/postgres/,
      );
      expect(await query<{ one: number }>(first.url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      await first.stop();
    }
  });

  it('test mode uses a fresh temp directory and removes it at stop', async () => {
    const pg = await startEmbeddedPostgres({ persistent: false });
    expect(existsSync(join(pg.dataDir, 'PG_VERSION'))).toBe(true);
    expect(pg.dataDir.startsWith(tmpdir())).toBe(true);
    expect(await query<{ db: string }>(pg.url, 'SELECT current_database() AS db')).toEqual([{ db: 'gerede_twijfel' }]);
    await pg.stop();
    expect(existsSync(pg.dataDir)).toBe(false);
  });

  it('reports why postgres could not start (port taken)', async () => {
    const pg = await startEmbeddedPostgres({ persistent: false });
    try {
      const dataDir = join(root, 'taken');
      await expect(startEmbeddedPostgres({ persistent: false, dataDir, port: pg.port })).rejects.toThrow(
        /PostgreSQL did not start.*(in use|could not bind|could not create)/s,
      );
      expect(existsSync(dataDir), 'test mode removes its directory after a failed start').toBe(false);
    } finally {
      await pg.stop();
    }
  });
});
