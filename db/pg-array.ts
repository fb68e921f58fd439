/**
 * A PostgreSQL array literal ('{"a","b",NULL}') for a column of a batch, cast server-side
 * (`$1::uuid[]`). One text parameter per column keeps the driver out of array type inference (it types
 * a JS array by its first element, which breaks on booleans and leading nulls) and is cheap to build.
 */
export function pgArray(values: ReadonlyArray<string | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (v.includes('"') || v.includes('\\')) out += `"${v.replace(/["\\]/g, '\\$&')}"`;
    else out += `"${v}"`;
  }
  return `${out}}`;
}
