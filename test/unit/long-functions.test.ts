/** scripts/long-functions.ts: which functions it reports, how it names and measures them, and the `// long:` reason. */
import { describe, expect, it } from 'vitest';
import { longFunctions } from '../../scripts/long-functions.js';

const body = (n: number) => Array.from({ length: n }, (_, i) => `  const v${i} = ${i};`).join('\n');

describe('long-functions', () => {
  it('measures a body from its opening to its closing brace and names declarations, variables and callbacks', () => {
    const text = [
      `export function declared() {\n${body(60)}\n}`,
      `const arrow = async () => {\n${body(10)}\n};`,
      `app.post('/x', async (req) => {\n${body(101)}\n});`,
      `class Store {\n  save() {\n${body(55)}\n  }\n}`,
    ].join('\n');
    const found = longFunctions('f.ts', text, 50).map((f) => [f.name, f.lines, f.line]);
    expect(found).toEqual([
      ['declared', 62, 1],
      ['app.post("/x") callback', 103, 75],
      ['Store › save', 57, 179],
    ]);
  });

  it('counts a nested function on its own and within its outer one', () => {
    const text = `function outer() {\n  const inner = () => {\n${body(60)}\n  };\n}`;
    expect(longFunctions('f.ts', text, 50).map((f) => [f.name, f.lines])).toEqual([
      ['outer', 64],
      ['outer › inner', 62],
    ]);
  });

  it('takes a `// long:` line comment above the function or its statement as the reason, with or without a doc comment', () => {
    const text = [
      `// long: a table of routes\n/** Doc. */\nexport const routes = async () => {\n${body(101)}\n};`,
      `/** Doc. */\n// long: one statement\nexport async function f() {\n${body(101)}\n}`,
      `// not a reason\nfunction g() {\n${body(101)}\n}`,
    ].join('\n');
    expect(longFunctions('f.ts', text, 100).map((f) => [f.name, f.reason])).toEqual([
      ['routes', 'a table of routes'],
      ['f', 'one statement'],
      ['g', null],
    ]);
  });
});
