/**
 * Long functions, repo-wide: every function, method, arrow and function expression whose body spans more
 * than 50 lines, and those over 100. A function over 100 lines needs its reason right above it, as a line
 * comment `// long: <why>` (before or after its doc comment); without one the script exits 1.
 *
 *   npx tsx scripts/long-functions.ts                 # the production code (the folders below)
 *   npx tsx scripts/long-functions.ts services api/routes/allocation.ts
 *
 * A function's lines are those of its body, from the opening to the closing brace (an arrow's expression
 * body: that expression). A nested function counts within its outer one as well as on its own.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const DEFAULT_PATHS = [
  'domain',
  'services',
  'workflows',
  'activities',
  'api',
  'db',
  'notifications',
  'lib',
  'console',
  'scripts',
  'worker.ts',
  'server.ts',
];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.tools', '.data', 'migrations']);
const WARN = 50;
const LIMIT = 100;
const REASON = /^\/\/\s*long:\s*\S/;

export interface LongFunction {
  file: string;
  line: number;
  name: string;
  lines: number;
  reason: string | null;
}

function sourceFiles(path: string): string[] {
  const s = statSync(path);
  if (s.isFile()) return /\.(ts|mts|tsx)$/.test(path) && !path.endsWith('.d.ts') ? [path] : [];
  return readdirSync(path)
    .filter((entry) => !SKIP_DIRS.has(entry))
    .sort()
    .flatMap((entry) => sourceFiles(join(path, entry)));
}

type FunctionNode =
  | ts.FunctionDeclaration
  | ts.MethodDeclaration
  | ts.ArrowFunction
  | ts.FunctionExpression
  | ts.ConstructorDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration;

const isFunction = (n: ts.Node): n is FunctionNode =>
  ts.isFunctionDeclaration(n) ||
  ts.isMethodDeclaration(n) ||
  ts.isArrowFunction(n) ||
  ts.isFunctionExpression(n) ||
  ts.isConstructorDeclaration(n) ||
  ts.isGetAccessorDeclaration(n) ||
  ts.isSetAccessorDeclaration(n);

const nameText = (name: ts.PropertyName | ts.BindingName | undefined, sf: ts.SourceFile): string | undefined =>
  name === undefined ? undefined : ts.isIdentifier(name) || ts.isStringLiteral(name) ? name.text : name.getText(sf);

/** What a reader calls the function: its own name, the variable or property it is, or the call it is handed to. */
function ownName(fn: FunctionNode, sf: ts.SourceFile): string {
  if (ts.isConstructorDeclaration(fn)) return 'constructor';
  const named = nameText(fn.name, sf);
  if (named) return named;
  const parent = fn.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return nameText(parent.name, sf) ?? '<anonymous>';
  if (ts.isCallExpression(parent)) {
    const callee = parent.expression.getText(sf).replace(/\s+/g, '');
    const first = parent.arguments[0];
    const label = first && ts.isStringLiteralLike(first) ? `(${JSON.stringify(first.text)})` : '()';
    return `${callee}${label} callback`;
  }
  return '<anonymous>';
}

/** The statement a function is declared by (its comments sit above that): the function, or its variable or property. */
function declaringNode(fn: FunctionNode): ts.Node {
  let n: ts.Node = fn;
  while (
    n.parent &&
    (ts.isVariableDeclaration(n.parent) ||
      ts.isVariableDeclarationList(n.parent) ||
      ts.isVariableStatement(n.parent) ||
      ts.isPropertyAssignment(n.parent) ||
      ts.isPropertyDeclaration(n.parent) ||
      ts.isExportAssignment(n.parent) ||
      ts.isParenthesizedExpression(n.parent) ||
      ts.isAsExpression(n.parent) ||
      ts.isSatisfiesExpression(n.parent))
  )
    n = n.parent;
  return n;
}

function reasonOf(fn: FunctionNode, sf: ts.SourceFile): string | null {
  for (const node of new Set<ts.Node>([fn, declaringNode(fn)])) {
    for (const c of ts.getLeadingCommentRanges(sf.text, node.getFullStart()) ?? []) {
      const text = sf.text.slice(c.pos, c.end);
      if (c.kind === ts.SyntaxKind.SingleLineCommentTrivia && REASON.test(text))
        return text.replace(/^\/\/\s*long:\s*/, '');
    }
  }
  return null;
}

function bodyLines(fn: FunctionNode, sf: ts.SourceFile): number {
  const body = fn.body;
  if (!body) return 0;
  const start = sf.getLineAndCharacterOfPosition(body.getStart(sf)).line;
  const end = sf.getLineAndCharacterOfPosition(body.getEnd()).line;
  return end - start + 1;
}

export function longFunctions(file: string, text: string, atLeast = WARN): LongFunction[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const out: LongFunction[] = [];
  const visit = (node: ts.Node, outer: string[]): void => {
    let path = outer;
    if (isFunction(node)) {
      path = [...outer, ownName(node, sf)];
      const lines = bodyLines(node, sf);
      if (lines > atLeast)
        out.push({
          file,
          line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
          name: path.join(' › '),
          lines,
          reason: reasonOf(node, sf),
        });
    } else if (ts.isClassLike(node) && node.name) path = [...outer, node.name.text];
    ts.forEachChild(node, (child) => visit(child, path));
  };
  visit(sf, []);
  return out;
}

function main(argv: string[]): number {
  const root = process.cwd();
  const files = (argv.length > 0 ? argv : DEFAULT_PATHS).flatMap(sourceFiles);
  const found = files.flatMap((f) => longFunctions(relative(root, f), readFileSync(f, 'utf8')));
  found.sort((a, b) => b.lines - a.lines || a.file.localeCompare(b.file) || a.line - b.line);
  const row = (f: LongFunction) =>
    `${String(f.lines).padStart(5)}  ${f.name}  ${f.file}:${f.line}${f.reason ? `  (long: ${f.reason})` : ''}`;
  const over = found.filter((f) => f.lines > LIMIT);
  const warn = found.filter((f) => f.lines <= LIMIT);
  console.log(`Functions over ${LIMIT} lines (${over.length}):`);
  for (const f of over) console.log(row(f));
  console.log(`\nFunctions over ${WARN} lines (${warn.length}):`);
  for (const f of warn) console.log(row(f));
  const unexplained = over.filter((f) => f.reason === null);
  console.log(
    `\n${files.length} files; ${unexplained.length} function(s) over ${LIMIT} lines without a \`// long:\` reason.`,
  );
  return unexplained.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href)
  process.exitCode = main(process.argv.slice(2));
