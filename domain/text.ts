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
 * The path of the first string (value or object key) in `value` that is not storable, as `root.a[0].b`,
 * or undefined when every string is. Walks plain JSON values only (what a request carries).
 */
export function unstorableTextAt(value: unknown, root: string): string | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : root;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const at = unstorableTextAt(value[i], `${root}[${i}]`);
      if (at) return at;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      const path = `${root}.${key}`;
      if (!isStorableText(key)) return path;
      const at = unstorableTextAt(v, path);
      if (at) return at;
    }
  }
  return undefined;
}
