/**
 * The P4 gate's batcher: concurrent requests become one `decideAndRegister` statement (group commit).
 *
 * - A request is answered only after the statement holding its register row has committed, so no
 *   answered decision can be missing from the register (DC-1); when the statement fails, every request
 *   of the batch fails (503) and none is answered.
 * - Batching is natural: a batch starts as soon as a slot is free, and requests that arrive while all
 *   slots are busy form the next batch. An idle gate therefore answers a lone request immediately.
 * - Nothing is cached here: the rules run in the statement, against the facts as committed.
 */
import type postgres from 'postgres';
import { decideAndRegister, type GateOutcome } from '../db/repositories/access-register.js';
import type { GateRequest } from '../domain/gate.js';
import { DomainError } from '../lib/errors.js';
import { downDependency } from '../lib/infra/dependency-errors.js';
// Issue 20: decisions by reason code (DC-1), batch size and the statement's latency.
import {
  countDecision,
  gateBatchSeconds,
  gateBatchSize,
  gateFailedBatchesTotal,
} from '../lib/observability/metrics.js';

interface Pending {
  req: GateRequest;
  resolve(o: GateOutcome): void;
  reject(e: unknown): void;
}

export interface P4GateOptions {
  /** Largest batch (facts query and register INSERT). */
  maxBatch?: number;
  /** Batches in flight at once (each holds one pooled connection at a time). */
  concurrency?: number;
  /** Queued requests beyond which new ones are refused at once (503) instead of waiting. */
  maxQueue?: number;
  /**
   * Group commit under load: while another batch is in flight, a new batch waits up to lingerMs for
   * lingerBatch requests before it starts (an idle gate never waits). Fewer, larger statements cost the
   * database and the driver less per request; the wait is bounded by the batch already running.
   */
  lingerMs?: number;
  lingerBatch?: number;
  now?: () => number;
}

/** Process-wide counters of the gate (all instances): batches run and requests decided. */
export const gateStats = { batches: 0, requests: 0, failedBatches: 0 };

export class P4Gate {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly maxBatch: number;
  private readonly concurrency: number;
  private readonly maxQueue: number;
  private readonly lingerMs: number;
  private readonly lingerBatch: number;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(
    private readonly sql: postgres.Sql,
    opts: P4GateOptions = {},
  ) {
    // Defaults measured with bench:p4 on 2 cores: two batches in flight (one in the database while the
    // next fills), and a 2 ms / 64-request linger under load, give the largest batches without stalling
    // either side (on an idle machine 1 ms / 32 gave 45 % of the bare route, 2 ms / 64 gave 52 %).
    this.maxBatch = opts.maxBatch || 256;
    this.concurrency = opts.concurrency || 2;
    this.maxQueue = opts.maxQueue || 20_000;
    this.lingerMs = opts.lingerMs ?? 2;
    this.lingerBatch = opts.lingerBatch || 64;
    this.now = opts.now ?? Date.now;
  }

  /** Decide and register one request; resolves after the register row has committed. */
  request(req: GateRequest): Promise<GateOutcome> {
    if (this.closed)
      return Promise.reject(new DomainError('unavailable', 'gate_closed', 'The P4 gate is shutting down'));
    if (this.queue.length >= this.maxQueue) {
      return Promise.reject(
        new DomainError('unavailable', 'gate_overloaded', 'The P4 gate is overloaded; retry shortly'),
      );
    }
    return new Promise<GateOutcome>((resolve, reject) => {
      this.queue.push({ req, resolve, reject });
      // Let every request parsed in this turn of the event loop join the batch.
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Stop taking requests and wait until every queued one is answered. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.inFlight === 0 && this.queue.length === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.concurrency) {
      // Under load, let a small batch fill up a little while the running one finishes.
      if (this.inFlight > 0 && this.lingerMs > 0 && this.queue.length < this.lingerBatch && !this.closed) {
        this.lingerTimer ??= setTimeout(() => {
          this.lingerTimer = undefined;
          if (this.inFlight < this.concurrency) this.startBatch();
          this.pump();
        }, this.lingerMs);
        return;
      }
      this.startBatch();
    }
  }

  private startBatch(): void {
    if (this.queue.length === 0) return;
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    const batch = this.queue.splice(0, this.maxBatch);
    this.inFlight += 1;
    void this.run(batch).finally(() => {
      this.inFlight -= 1;
      if (this.queue.length > 0) this.pump();
      else if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private async run(batch: Pending[]): Promise<void> {
    const started = performance.now();
    try {
      const now = this.now();
      const results = await decideAndRegister(
        this.sql,
        batch.map((p) => p.req),
        now,
      );
      gateStats.batches += 1;
      gateStats.requests += batch.length;
      gateBatchSize.observe(batch.length);
      gateBatchSeconds.observe((performance.now() - started) / 1000);
      for (let k = 0; k < batch.length; k++) {
        const r = results[k]!;
        countDecision(r.kind === 'decided' ? r.decision.reasonCode : r.kind);
        batch[k]!.resolve(r);
      }
    } catch (err) {
      gateStats.failedBatches += 1;
      gateFailedBatchesTotal.inc();
      const failure = new DomainError(
        'unavailable',
        'access_register_unavailable',
        'The decision could not be registered (DC-1); nothing was decided. Retry.',
        undefined,
        // Name the dependency as the other 503s do (api/plugins/errors.ts), when it is one that is down.
        downDependency(err) === 'database' ? { dependency: 'database' } : undefined,
        { cause: err },
      );
      for (const p of batch) p.reject(failure);
    }
  }
}
