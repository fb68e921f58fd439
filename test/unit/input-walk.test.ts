/**
 * The input check's walk over a request's JSON (domain/text.ts inputFaultAt): iterative, so no depth a caller
 * sends can overflow the stack (issue 18: 5,000 levels did, a 500); deeper than MAX_INPUT_DEPTH is a fault of its
 * own; the first unstorable string, key or value, is named in document order, as the recursive walk named it.
 */
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { inputFaultAt, isJsonValue, MAX_INPUT_DEPTH } from '../../domain/text.js';

/** An array nested `depth` deep around `inner`, built without recursion. */
function nested(depth: number, inner: unknown): unknown {
  let v = inner;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('inputFaultAt', () => {
  it('a million levels: too_deep at the first level past the limit, found without recursion', () => {
    const fault = inputFaultAt({ a: nested(1_000_000, 'x') }, 'body');
    expect(fault?.code).toBe('too_deep');
    // body is level 1, body.a level 2, …: the first container past the limit.
    expect(fault?.field).toBe(`body.a${'[0]'.repeat(MAX_INPUT_DEPTH - 1)}`);
    // Without a limit the walk still returns, far deeper than a call stack goes (an explicit stack).
    expect(inputFaultAt(nested(100_000, 'x'), 'body', Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(inputFaultAt(nested(100_000, 'x\u0000'), 'q', Number.POSITIVE_INFINITY)?.code).toBe('unstorable_text');
  });

  it('at the limit nothing is wrong; strings are leaves, not levels', () => {
    expect(inputFaultAt(nested(MAX_INPUT_DEPTH, 'x'), 'body')).toBeUndefined();
    expect(inputFaultAt(nested(MAX_INPUT_DEPTH, []), 'body')?.code).toBe('too_deep');
    expect(inputFaultAt('x', 'body', 0)).toBeUndefined();
  });

  it('names the first unstorable key or value in document order', () => {
    expect(inputFaultAt({ a: 'fine', b: ['ok', { c: 'x\u0000' }], d: '\ud800' }, 'body')).toEqual({
      code: 'unstorable_text',
      field: 'body.b[1].c',
    });
    expect(inputFaultAt({ a: 'x\u0000', 'b\u0000': 1 }, 'body')?.field).toBe('body.a');
    expect(inputFaultAt({ a: 1, 'b\u0000': 'fine' }, 'body')?.field).toBe('body.b\u0000');
    expect(inputFaultAt({ a: '\ud83d\ude00', b: [null, 1, true] }, 'body')).toBeUndefined();
  });

  it('only JSON values are walked: a streamed body is its parser’s to check', () => {
    expect(isJsonValue({ a: 1 })).toBe(true);
    expect(isJsonValue(Object.create(null))).toBe(true);
    expect(isJsonValue([1])).toBe(true);
    expect(isJsonValue('x')).toBe(true);
    expect(isJsonValue(null)).toBe(true);
    expect(isJsonValue(undefined)).toBe(true);
    expect(isJsonValue(Readable.from(['a']))).toBe(false);
    expect(isJsonValue(Buffer.from('a'))).toBe(false);
  });
});
