import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTemporalCli } from '../../lib/infra/temporal-dev-server.js';

let root: string;

async function fakeCli(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'temporal');
  await writeFile(path, '#!/bin/sh\necho fake\n');
  await chmod(path, 0o755);
  return path;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'gt-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('Temporal CLI resolution order', () => {
  it('1. TEMPORAL_CLI_PATH wins over PATH and .tools/bin', async () => {
    const configured = await fakeCli(join(root, 'a', 'configured'));
    const onPath = await fakeCli(join(root, 'a', 'path'));
    const tools = join(root, 'a', 'tools');
    await fakeCli(tools);
    const r = await resolveTemporalCli({
      cliPath: configured,
      pathEnv: join(root, 'a', 'path'),
      toolsBinDir: tools,
      download: false,
    });
    expect(r).toEqual({ path: configured, source: 'config' });
    expect(onPath).not.toBe(configured);
  });

  it('a TEMPORAL_CLI_PATH that is not executable is an error, not a silent fallback', async () => {
    const onPath = join(root, 'b', 'path');
    await fakeCli(onPath);
    const notExecutable = join(root, 'b', 'temporal-noexec');
    await writeFile(notExecutable, 'x');
    await expect(resolveTemporalCli({ cliPath: notExecutable, pathEnv: onPath, download: false })).rejects.toThrow(
      /TEMPORAL_CLI_PATH/,
    );
    await expect(
      resolveTemporalCli({ cliPath: join(root, 'b', 'missing'), pathEnv: onPath, download: false }),
    ).rejects.toThrow(/TEMPORAL_CLI_PATH/);
  });

  it('2. then `temporal` on PATH (first PATH entry that has one)', async () => {
    const empty = join(root, 'c', 'empty');
    await mkdir(empty, { recursive: true });
    const first = await fakeCli(join(root, 'c', 'first'));
    await fakeCli(join(root, 'c', 'second'));
    const tools = join(root, 'c', 'tools');
    await fakeCli(tools);
    const pathEnv = [empty, join(root, 'c', 'first'), join(root, 'c', 'second')].join(delimiter);
    expect(await resolveTemporalCli({ pathEnv, toolsBinDir: tools, download: false })).toEqual({
      path: first,
      source: 'path',
    });
  });

  it('3. then .tools/bin/temporal', async () => {
    const tools = join(root, 'd', 'tools');
    const built = await fakeCli(tools);
    const emptyPath = join(root, 'd', 'nothing');
    await mkdir(emptyPath, { recursive: true });
    expect(await resolveTemporalCli({ pathEnv: emptyPath, toolsBinDir: tools, download: false })).toEqual({
      path: built,
      source: 'tools',
    });
  });

  it('a directory named temporal on PATH does not count', async () => {
    const dirOnPath = join(root, 'e', 'path');
    await mkdir(join(dirOnPath, 'temporal'), { recursive: true });
    const tools = join(root, 'e', 'tools');
    const built = await fakeCli(tools);
    expect(await resolveTemporalCli({ pathEnv: dirOnPath, toolsBinDir: tools, download: false })).toEqual({
      path: built,
      source: 'tools',
    });
  });

  it('4. then a download; when that fails the error says how to build it', async () => {
    const tools = join(root, 'f', 'tools');
    const emptyPath = join(root, 'f', 'nothing');
    await mkdir(emptyPath, { recursive: true });
    // Port 9 on loopback: nothing listens, the download fails at once (works offline).
    const attempt = resolveTemporalCli({
      pathEnv: emptyPath,
      toolsBinDir: tools,
      downloadUrl: 'http://127.0.0.1:9/cli.tar.gz',
    });
    await expect(attempt).rejects.toThrow(
      /download from http:\/\/127\.0\.0\.1:9.*failed.*go install github\.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1/s,
    );
  });

  it('4. the download unpacks the release archive into .tools/bin', async () => {
    const release = join(root, 'h', 'release');
    await fakeCli(release);
    const archive = join(root, 'h', 'temporal_cli_linux_amd64.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', release, 'temporal']);
    const body = await readFile(archive);
    const server = createServer((req, res) => {
      res.writeHead(req.url?.startsWith('/cli/archive/latest') ? 200 : 404, { 'content-type': 'application/gzip' });
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const tools = join(root, 'h', 'tools');
      const emptyPath = join(root, 'h', 'nothing');
      await mkdir(emptyPath, { recursive: true });
      const r = await resolveTemporalCli({
        pathEnv: emptyPath,
        toolsBinDir: tools,
        downloadUrl: `http://127.0.0.1:${port}/cli/archive/latest?platform=linux&arch=amd64`,
      });
      expect(r).toEqual({ path: join(tools, 'temporal'), source: 'download' });
      expect(execFileSync(r.path, { encoding: 'utf8' }).trim()).toBe('fake');
      // Second resolution finds the downloaded binary without downloading again.
      server.close();
      expect(await resolveTemporalCli({ pathEnv: emptyPath, toolsBinDir: tools, download: false })).toEqual({
        path: r.path,
        source: 'tools',
      });
    } finally {
      server.close();
    }
  });

  it('without download permission, a missing CLI is reported with the build command', async () => {
    const emptyPath = join(root, 'g', 'nothing');
    await mkdir(emptyPath, { recursive: true });
    await expect(
      resolveTemporalCli({ pathEnv: emptyPath, toolsBinDir: join(root, 'g', 'tools'), download: false }),
    ).rejects.toThrow(/Temporal CLI not found.*go install/s);
  });
});
