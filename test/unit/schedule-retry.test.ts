/**
 * services/schedules.ts retryTransient: a Schedule update that meets a transient gRPC failure (DEADLINE_EXCEEDED,
 * UNAVAILABLE — on the error or along its causes, as the Temporal client wraps them) is tried again; any other
 * failure, or the last transient one, is thrown as it came.
 */
import { describe, expect, it } from 'vitest';
import { retryTransient } from '../../services/schedules.js';

const grpcError = (code: number) =>
  Object.assign(new Error('Failed to describe schedule'), { cause: Object.assign(new Error('grpc'), { code }) });

describe('retryTransient', () => {
  it('tries again after DEADLINE_EXCEEDED and UNAVAILABLE, then returns the answer', async () => {
    let calls = 0;
    const answer = await retryTransient(async () => {
      calls++;
      if (calls === 1) throw grpcError(4);
      if (calls === 2) throw grpcError(14);
      return 'updated';
    }, [1, 1, 1]);
    expect(answer).toBe('updated');
    expect(calls).toBe(3);
  });

  it('throws any other failure at once', async () => {
    let calls = 0;
    const notFound = grpcError(5);
    await expect(
      retryTransient(async () => {
        calls++;
        throw notFound;
      }, [1, 1]),
    ).rejects.toBe(notFound);
    expect(calls).toBe(1);
  });

  it('gives up after the last wait with the last error', async () => {
    let calls = 0;
    await expect(
      retryTransient(async () => {
        calls++;
        throw grpcError(4);
      }, [1, 1]),
    ).rejects.toThrow('Failed to describe schedule');
    expect(calls).toBe(3);
  });
});
