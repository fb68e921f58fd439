/**
 * Child processes (postgres, the Temporal dev server) that never outlive their parent.
 *
 * Each child runs under a small bash watchdog in its own process group:
 * - the watchdog's stdin is a pipe from this process; when this process dies in any way (even SIGKILL)
 *   the pipe closes and the watchdog sends the child its stop signal;
 * - `stop()` sends SIGTERM to the watchdog, which forwards `stopSignal` to the child and waits for it;
 *   after `killAfterMs` the whole process group gets SIGKILL;
 * - being its own process group, a Ctrl-C in the terminal reaches only the parent, which then stops
 *   things in order (API, worker drain, Temporal, SMTP, Postgres).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import type { Logger } from 'pino';

const WATCHDOG = `
sig="$1"; shift
exec 3<&0
"$@" </dev/null 3<&- &
child=$!
trap 'kill -s "$sig" "$child" 2>/dev/null' TERM INT HUP
{ while read -r _; do :; done; kill -s "$sig" "$child" 2>/dev/null; } <&3 &
watcher=$!
exec 3<&-
status=0
while :; do
  wait "$child"; status=$?
  kill -0 "$child" 2>/dev/null || break
done
kill "$watcher" 2>/dev/null
exit "$status"
`;

export interface SupervisedProcessOptions {
  name: string;
  command: string;
  args: string[];
  /** Signal the child gets when we stop it (postgres: SIGINT = fast shutdown). */
  stopSignal?: NodeJS.Signals;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
  gid?: number;
  logger: Logger;
  /** Called with each chunk of the child's stdout/stderr (after logging it at debug level). */
  onOutput?: (text: string) => void;
}

export interface SupervisedProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal) once the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** Last ~8 KB of output, for error messages. */
  outputTail(): string;
  stop(killAfterMs?: number): Promise<void>;
}

const TAIL_BYTES = 8192;

export function startSupervised(opts: SupervisedProcessOptions): SupervisedProcess {
  const stopSignal = opts.stopSignal ?? 'SIGTERM';
  const child = spawn('bash', ['-c', WATCHDOG, 'watchdog', stopSignal, opts.command, ...opts.args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    uid: opts.uid,
    gid: opts.gid,
  });
  let tail = '';
  let done = false;
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    tail = (tail + text).slice(-TAIL_BYTES);
    opts.logger.debug({ process: opts.name }, text.trimEnd());
    opts.onOutput?.(text);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  // EPIPE on the watchdog pipe if the child died first: nothing to do.
  child.stdin?.on('error', () => undefined);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      done = true;
      tail += `\n${String(err)}`;
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });

  const killGroup = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // group already gone
    }
  };

  return {
    get pid() {
      return child.pid ?? -1;
    },
    child,
    exited,
    hasExited: () => done,
    outputTail: () => tail,
    async stop(killAfterMs = 15_000) {
      if (!done && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGTERM');
        } catch {
          // already exited
        }
        const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), killAfterMs).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          opts.logger.warn({ process: opts.name, killAfterMs }, 'child did not stop in time; sending SIGKILL');
        }
      }
      // Whatever is left in the group (the child itself if the watchdog went first) gets SIGKILL.
      killGroup('SIGKILL');
      await exited;
      child.stdin?.destroy();
      if (child.pid !== undefined) await waitForGroupGone(child.pid, 5_000);
    },
  };
}

/**
 * The supervised program's own pid (postgres, temporal, node), not its watchdog's: the child of the watchdog that
 * is not a bash like the watchdog itself (the other one is the subshell watching the pipe). A fault test or bench
 * SIGKILLs this one; killing the watchdog instead closes the pipe and so *stops* the program with its stop signal.
 * Linux only (/proc); undefined when the program is gone.
 */
export async function supervisedChildPid(watchdogPid: number): Promise<number | undefined> {
  try {
    const own = await readlink(`/proc/${watchdogPid}/exe`);
    const children = (await readFile(`/proc/${watchdogPid}/task/${watchdogPid}/children`, 'utf8'))
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    for (const pid of children) {
      const exe = await readlink(`/proc/${pid}/exe`).catch(() => own);
      if (exe !== own) return pid;
    }
  } catch {
    // the watchdog is gone
  }
  return undefined;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForGroupGone(pgid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pgid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
