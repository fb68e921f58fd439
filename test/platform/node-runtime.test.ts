import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/infra/temporal-dev-server.js';

/** The Node.js LTS line the project runs on (package.json engines, provisioning, scripts/node-env.sh, Dockerfile). */
const LTS = 24;
const root = projectRoot();
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const major = (version: string): number => Number(/^v?(\d+)\./.exec(version)?.[1]);
const scratch = mkdtempSync(join(tmpdir(), 'gt-node-env-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe(`Node.js ${LTS} everywhere`, () => {
  it(`this test process and the children it starts (process.execPath) run on Node.js ${LTS} or newer`, () => {
    expect(major(process.version)).toBeGreaterThanOrEqual(LTS);
    const child = spawnSync(process.execPath, ['-p', 'process.version'], { encoding: 'utf8' });
    expect(major(child.stdout.trim())).toBeGreaterThanOrEqual(LTS);
  });

  it('package.json, provisioning, scripts/node-env.sh and the Dockerfile name the same line', () => {
    const pkg = JSON.parse(read('package.json')) as {
      engines: { node: string };
      devDependencies: Record<string, string>;
    };
    expect(pkg.engines.node).toBe(`>=${LTS}`);
    expect(major(pkg.devDependencies['@types/node']!.replace(/^[~^]/, ''))).toBe(LTS);
    expect(major(/^NODE_VERSION="([\d.]+)"$/m.exec(read('scripts/provision.sh'))?.[1] ?? '')).toBe(LTS);
    expect(read('scripts/node-env.sh')).toContain(`"$gt_node_major" -lt ${LTS}`);
    expect(read('Dockerfile')).toMatch(new RegExp(`^ARG NODE_VERSION=${LTS}$`, 'm'));
  });

  it('every npm script that runs Node goes through scripts/node-env.sh first', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    for (const [name, script] of Object.entries(scripts)) {
      if (name === 'provision') continue;
      const body = script.replace(/^bash scripts\/provision\.sh[^&]*&& /, '');
      expect(body, `npm run ${name}`).toMatch(/^\. scripts\/node-env\.sh && /);
    }
  });

  it(`scripts/node-env.sh puts .tools/node first on PATH when it is there, and refuses a Node older than ${LTS}`, () => {
    // An older `node` first on PATH, as a machine whose system Node is 20 has it.
    const old = join(scratch, 'old-bin');
    mkdirSync(old);
    writeFileSync(join(old, 'node'), '#!/bin/sh\n[ "$1" = --version ] && echo v20.0.0\nexit 1\n');
    chmodSync(join(old, 'node'), 0o755);
    const path = `${old}:${process.env['PATH']}`;
    const run = (cwd: string) =>
      spawnSync('sh', ['-c', `. ${join(root, 'scripts/node-env.sh')} && node --version`], {
        cwd,
        env: { ...process.env, PATH: path },
        encoding: 'utf8',
      });

    // Without .tools/node: the old node is refused, with what to run.
    const bare = run(scratch);
    expect(bare.status).not.toBe(0);
    expect(bare.stderr).toContain('found v20.0.0');
    expect(bare.stderr).toContain('bash scripts/provision.sh');

    // With .tools/node (a link to the Node running this test): it wins over the older one on PATH.
    const withTools = join(scratch, 'project');
    mkdirSync(join(withTools, '.tools/node/bin'), { recursive: true });
    symlinkSync(process.execPath, join(withTools, '.tools/node/bin/node'));
    const ok = run(withTools);
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout.trim()).toBe(process.version);
  });
});
