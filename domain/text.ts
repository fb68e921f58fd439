/**
 * Text the database can store. PostgreSQL's text and jsonb refuse NUL (U+0000), and a lone UTF-16 surrogate
 * has no UTF-8 encoding (jsonb refuses its escape, text would silently get U+FFFD). Input carrying either is
 * refused at the edge, naming the field, so it never reaches a write that would fail on every retry.
 */

/** NUL, a high surrogate not followed by a low one, or a low surrogate not preceded by a high one. */
// Without the u flag: the surrogate ranges match code units, which is what a lone surrogate is.
const UNSTORABLE_RE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** True when PostgreSQL can store `text` as it is (no NUL, no lone surrogate). */
export function isStorableText(text: string): boolean {
  return !UNSTORABLE_RE.test(text);
}

/**
 * How deep a request's JSON may nest. No body this API takes nests deeper than a few levels (an object in an array
 * in an object); deeper input is refused before anything walks it further, so no check recurses on a caller's
 * say-so (issue 18: 5,000 levels overflowed the recursive walk's stack, a 500).
 */
export const MAX_INPUT_DEPTH = 32;

/** What is wrong with a request's input, and where (a request path: body.a[0].b). */
export interface InputFault {
  code: 'unstorable_text' | 'too_deep';
  field: string;
}

/** A value a JSON parser makes: a string, number, boolean, null, array or plain object (not a stream or Buffer). */
export function isJsonValue(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * The first fault in `value` in document order: a string (value or object key) that is not storable, or an array
 * or object nested deeper than `maxDepth` (the value itself is depth 1). Iterative, with an explicit stack:
 * walks plain JSON values only (what a request's JSON carries); the caller keeps other values (a streamed body)
 * away from it.
 */
export function inputFaultAt(value: unknown, root: string, maxDepth = MAX_INPUT_DEPTH): InputFault | undefined {
  // `key`: the object key the value sits under, checked when the value is taken (so keys too in document order).
  const stack: Array<{ value: unknown; path: string; depth: number; key?: string }> = [{ value, path: root, depth: 1 }];
  while (stack.length > 0) {
    const { value: v, path, depth, key } = stack.pop()!;
    if (key !== undefined && !isStorableText(key)) return { code: 'unstorable_text', field: path };
    if (typeof v === 'string') {
      if (!isStorableText(v)) return { code: 'unstorable_text', field: path };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth > maxDepth) return { code: 'too_deep', field: path };
    // Children pushed last-first, so they are taken in document order.
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: `${path}[${i}]`, depth: depth + 1 });
    } else {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        stack.push({ value: child, path: `${path}.${k}`, depth: depth + 1, key: k });
      }
    }
  }
  return undefined;
}
