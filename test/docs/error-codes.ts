/**
 * Which stable error codes the code can answer with, read from the TypeScript sources with the compiler's
 * type checker (not a text search): docs/errors.md is held to this by test/docs/errors.test.ts.
 *
 * A code is produced where
 * - a DomainError is made: `new DomainError(kind, code, …)` or a helper of lib/errors.ts (`validationError`,
 *   `notFound`, …: read from their bodies, so a new helper is picked up); the status is api/plugins/errors.ts
 *   `STATUS[kind]`;
 * - a refusal object is written, `{ kind, code, … }` with a kind STATUS maps (domain/case.ts CaseRefusal, the
 *   breach workflow's refusals, activities/failures.ts): the services turn these into DomainErrors;
 * - an error body or a table of them is written in api/ or lib/infra/dependency-errors.ts, `{ code, … }`; the
 *   status is a `status` property beside it, the number before it in a `[status, body]` pair, or the
 *   `.status(n)` of the `reply…send(body)` it is sent by.
 *
 * The code expression may be a literal, a choice between literals (`a ? 'x' : 'y'`, `a ?? 'x'`), or anything
 * whose type is a union of string literals (`r.code` of a CaseRefusal). Anything else (`err.code: string`) is
 * reported as unresolved: it must pass on a code produced elsewhere, and is then listed in FORWARDERS.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

export interface CodeSite {
  code: string;
  /** The HTTP statuses this site answers the code with; empty when the site does not say (a table entry). */
  statuses: number[];
  /** repository-relative path and 1-based line */
  file: string;
  line: number;
  /** what made it: `new DomainError`, a helper's name, `refusal object`, `error body` */
  via: string;
}

export interface UnresolvedSite {
  file: string;
  line: number;
  /** the expression, as written */
  text: string;
  via: string;
}

export interface ErrorCodeScan {
  sites: CodeSite[];
  unresolved: UnresolvedSite[];
  /** kind → HTTP status, as api/plugins/errors.ts maps it */
  statusOfKind: Record<string, number>;
}

/** Where production code lives (tests, scripts and benches answer no API request). */
export const SOURCE_ROOTS = [
  'domain',
  'services',
  'workflows',
  'activities',
  'api',
  'db',
  'notifications',
  'lib',
  'worker.ts',
  'server.ts',
];

/** Where `{ code, … }` objects are error bodies (elsewhere `code` is, e.g., a rejected reading's row code). */
const BODY_FILES = (file: string) => file.startsWith('api/') || file === 'lib/infra/dependency-errors.ts';

/**
 * Refusal kinds that are not DomainErrorKinds: the breach workflow refuses with `invalid_state`, which
 * services/breach/assessments.ts decideBreach answers as `invalidState` (kind `state`).
 */
const KIND_ALIASES: Record<string, string> = { invalid_state: 'state' };

/** Sites that pass on a code produced elsewhere (file and expression text), and why that is so. */
export const FORWARDERS: ReadonlyArray<{ file: string; text: string; why: string }> = [
  {
    file: 'api/plugins/errors.ts',
    text: 'err.code',
    why: 'the error handler answers a DomainError with its own code (and logs it)',
  },
  { file: 'api/plugins/errors.ts', text: 'mapped?.code', why: 'the byCode table of Fastify errors, scanned as bodies' },
  {
    file: 'api/plugins/errors.ts',
    text: 'fe.code.toLowerCase()',
    why: "any other Fastify 4xx answers Fastify's own code, lowercased (docs/errors.md says so in words)",
  },
  { file: 'api/plugins/errors.ts', text: 'd.code', why: 'lib/infra/dependency-errors.ts DEPENDENCY_DOWN, scanned' },
  {
    file: 'services/workflow-client.ts',
    text: 'r.code',
    why: "a workflow's refusal (workflows/refuse.ts): the refusal objects in workflows/ and domain/, scanned",
  },
  {
    file: 'services/workflow-client.ts',
    text: 'd.code',
    why: "an activity's DomainError carried through Temporal (activities/failures.ts): its DomainError, scanned",
  },
  { file: 'api/plugins/errors.ts', text: 'known.code', why: 'the FRAMEWORK table beside it, scanned' },
  { file: 'api/plugins/database-hang.ts', text: 'd.code', why: 'lib/infra/dependency-errors.ts DEPENDENCY_DOWN' },
  {
    file: 'activities/failures.ts',
    text: 'err.code',
    why: 'a DomainError thrown in an activity, carried across Temporal with its own code',
  },
];

function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(root, rel);
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs)) walk(join(rel, name));
    } else if (rel.endsWith('.ts') && !rel.endsWith('.test.ts') && !rel.endsWith('.d.ts')) {
      out.push(abs);
    }
  };
  for (const r of SOURCE_ROOTS) walk(r);
  return out;
}

const unwrap = (e: ts.Expression): ts.Expression => {
  while (
    ts.isParenthesizedExpression(e) ||
    ts.isAsExpression(e) ||
    ts.isNonNullExpression(e) ||
    ts.isSatisfiesExpression(e)
  )
    e = e.expression;
  return e;
};

function propertyNamed(o: ts.ObjectLiteralExpression, name: string): ts.PropertyAssignment | undefined {
  return o.properties.find(
    (p): p is ts.PropertyAssignment =>
      ts.isPropertyAssignment(p) && (ts.isIdentifier(p.name) || ts.isStringLiteral(p.name)) && p.name.text === name,
  );
}

export function scanErrorCodes(root: string): ErrorCodeScan {
  const configPath = join(root, 'tsconfig.json');
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`cannot read ${configPath}`);
  const files = sourceFiles(root);
  // The whole program, as tsc sees it: with a library's types missing, a code's type could silently become `any`.
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true });
  const checker = program.getTypeChecker();
  const rel = (sf: ts.SourceFile) => relative(root, sf.fileName).split(sep).join('/');
  const lineOf = (n: ts.Node) => n.getSourceFile().getLineAndCharacterOfPosition(n.getStart()).line + 1;

  const sourceFile = (path: string) => {
    const sf = program.getSourceFile(join(root, path));
    if (!sf) throw new Error(`${path} is not in the program`);
    return sf;
  };

  // ---- api/plugins/errors.ts STATUS: kind → status
  const statusOfKind: Record<string, number> = {};
  const visitStatus = (n: ts.Node): void => {
    if (
      ts.isVariableDeclaration(n) &&
      ts.isIdentifier(n.name) &&
      n.name.text === 'STATUS' &&
      n.initializer &&
      ts.isObjectLiteralExpression(n.initializer)
    ) {
      for (const p of n.initializer.properties) {
        if (ts.isPropertyAssignment(p) && ts.isIdentifier(p.name) && ts.isNumericLiteral(p.initializer))
          statusOfKind[p.name.text] = Number(p.initializer.text);
      }
    }
    ts.forEachChild(n, visitStatus);
  };
  visitStatus(sourceFile('api/plugins/errors.ts'));
  if (Object.keys(statusOfKind).length === 0) throw new Error('api/plugins/errors.ts: no STATUS table of kinds found');

  // ---- lib/errors.ts: the DomainError class and the helpers that make one (kind and the code's parameter)
  const errorsFile = sourceFile('lib/errors.ts');
  const moduleSymbol = checker.getSymbolAtLocation(errorsFile);
  if (!moduleSymbol) throw new Error('lib/errors.ts is not a module');
  const exports = checker.getExportsOfModule(moduleSymbol);
  const domainError = exports.find((s) => s.name === 'DomainError');
  if (!domainError) throw new Error('lib/errors.ts exports no DomainError');
  const helpers = new Map<ts.Symbol, { name: string; kind: string; codeIndex: number }>();
  for (const s of exports) {
    const decl = s.valueDeclaration;
    if (!decl || !ts.isVariableDeclaration(decl) || !decl.initializer || !ts.isArrowFunction(decl.initializer))
      continue;
    const fn = decl.initializer;
    const body = ts.isExpression(fn.body) ? unwrap(fn.body) : undefined;
    if (!body || !ts.isNewExpression(body) || body.expression.getText() !== 'DomainError') continue;
    const [kindArg, codeArg] = body.arguments ?? [];
    if (!kindArg || !ts.isStringLiteral(kindArg) || !codeArg || !ts.isIdentifier(codeArg)) continue;
    const codeIndex = fn.parameters.findIndex((p) => ts.isIdentifier(p.name) && p.name.text === codeArg.text);
    if (codeIndex >= 0) helpers.set(s, { name: s.name, kind: kindArg.text, codeIndex });
  }
  if (helpers.size === 0) throw new Error('lib/errors.ts: no DomainError helpers found');

  // Only identifiers are resolved (cheap: imports, no inference); lib/errors.ts exports are called by name.
  const resolved = (n: ts.Node): ts.Symbol | undefined => {
    if (!ts.isIdentifier(n)) return undefined;
    const s = checker.getSymbolAtLocation(n);
    return s && s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
  };

  /** The string literals a type stands for, or undefined when it is not (only) string literals. */
  const literalsOfType = (t: ts.Type): string[] | undefined => {
    const parts = t.isUnion() ? t.types : [t];
    const out: string[] = [];
    for (const p of parts) {
      if (p.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) continue;
      if (!p.isStringLiteral()) return undefined;
      out.push(p.value);
    }
    return out.length > 0 ? out : undefined;
  };

  /** The codes an expression can give: literals, choices between them, literal-union types; else unresolved leaves. */
  const leaves = (e: ts.Expression): { codes: string[]; unresolved: ts.Expression[] } => {
    e = unwrap(e);
    if (ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) return { codes: [e.text], unresolved: [] };
    const join = (...parts: Array<{ codes: string[]; unresolved: ts.Expression[] }>) => ({
      codes: parts.flatMap((p) => p.codes),
      unresolved: parts.flatMap((p) => p.unresolved),
    });
    if (ts.isConditionalExpression(e)) return join(leaves(e.whenTrue), leaves(e.whenFalse));
    if (
      ts.isBinaryExpression(e) &&
      (e.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken ||
        e.operatorToken.kind === ts.SyntaxKind.BarBarToken)
    )
      return join(leaves(e.left), leaves(e.right));
    const lits = literalsOfType(checker.getTypeAtLocation(e));
    return lits ? { codes: lits, unresolved: [] } : { codes: [], unresolved: [e] };
  };

  /** The kinds an expression can be (literal or literal-union type). */
  const kindsOf = (e: ts.Expression): string[] => leaves(e).codes;

  /** A site whose kind can be several (`r.kind` of a CaseRefusal) does not tell which code has which status. */
  const statusesOf = (kinds: string[], where: ts.Node): number[] =>
    (kinds.length === 1 ? kinds : []).map((k) => {
      const s = statusOfKind[KIND_ALIASES[k] ?? k];
      if (s === undefined)
        throw new Error(
          `${rel(where.getSourceFile())}:${lineOf(where)}: error kind '${k}' is not in api/plugins/errors.ts STATUS`,
        );
      return s;
    });

  const sites: CodeSite[] = [];
  const unresolved: UnresolvedSite[] = [];
  const record = (codeExpr: ts.Expression, statuses: number[], via: string) => {
    const sf = codeExpr.getSourceFile();
    const l = leaves(codeExpr);
    for (const code of l.codes)
      sites.push({ code, statuses: [...new Set(statuses)], file: rel(sf), line: lineOf(codeExpr), via });
    for (const u of l.unresolved) unresolved.push({ file: rel(sf), line: lineOf(u), text: u.getText(), via });
  };

  /** The status a body is sent with: `reply.status(n)…send(body)`, a sibling `status`, or `[n, body]`. */
  const bodyStatuses = (o: ts.ObjectLiteralExpression): number[] => {
    const sibling = propertyNamed(o, 'status');
    if (sibling && ts.isNumericLiteral(sibling.initializer)) return [Number(sibling.initializer.text)];
    const parent = o.parent;
    if (ts.isArrayLiteralExpression(parent) && parent.elements.indexOf(o) === 1) {
      const first = parent.elements[0];
      if (first && ts.isNumericLiteral(first)) return [Number(first.text)];
    }
    if (ts.isCallExpression(parent) && ts.isPropertyAccessExpression(parent.expression)) {
      if (parent.expression.name.text !== 'send') return [];
      for (let e: ts.Expression = parent.expression.expression; ;) {
        e = unwrap(e);
        if (!ts.isCallExpression(e) || !ts.isPropertyAccessExpression(e.expression)) return [];
        const name = e.expression.name.text;
        if (name === 'status' || name === 'code') {
          const arg = e.arguments[0];
          if (!arg) return [];
          const a = unwrap(arg);
          if (ts.isNumericLiteral(a)) return [Number(a.text)];
          if (ts.isConditionalExpression(a)) {
            const both = [unwrap(a.whenTrue), unwrap(a.whenFalse)];
            return both.every(ts.isNumericLiteral) ? both.map((n) => Number((n as ts.NumericLiteral).text)) : [];
          }
          return [];
        }
        e = e.expression.expression;
      }
    }
    return [];
  };

  /** A logger call's argument (`request.log.info({ code }, …)`) is no answer. */
  const isLogArgument = (o: ts.ObjectLiteralExpression) => {
    const p = o.parent;
    return (
      ts.isCallExpression(p) &&
      ts.isPropertyAccessExpression(p.expression) &&
      /^(fatal|error|warn|info|debug|trace)$/.test(p.expression.name.text) &&
      /\blog(ger)?$/.test(p.expression.expression.getText())
    );
  };

  /** Whether an expression's type is string-like (a code), not a schema (`Type.String()`) or a number. */
  const isStringish = (e: ts.Expression) => {
    const u = unwrap(e);
    if (ts.isStringLiteral(u) || ts.isNoSubstitutionTemplateLiteral(u)) return true;
    const t = checker.getTypeAtLocation(e);
    const parts = t.isUnion() ? t.types : [t];
    return parts.every((p) => p.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.Undefined | ts.TypeFlags.Null));
  };

  for (const path of files) {
    const sf = program.getSourceFile(path)!;
    const file = rel(sf);
    if (file === 'lib/errors.ts') continue; // the helpers' own bodies forward their parameter
    const visit = (n: ts.Node): void => {
      if (ts.isNewExpression(n) && resolved(n.expression) === domainError) {
        const [kindArg, codeArg] = n.arguments ?? [];
        if (kindArg && codeArg) record(codeArg, statusesOf(kindsOf(kindArg), n), 'new DomainError');
      } else if (ts.isCallExpression(n)) {
        const s = resolved(n.expression);
        const h = s && helpers.get(s);
        const codeArg = h && n.arguments[h.codeIndex];
        if (h && codeArg) record(codeArg, statusesOf([h.kind], n), h.name);
      } else if (ts.isObjectLiteralExpression(n)) {
        const code = propertyNamed(n, 'code');
        const kind = propertyNamed(n, 'kind');
        if (code && kind && isStringish(code.initializer)) {
          const kinds = kindsOf(kind.initializer);
          if (kinds.length > 0 && kinds.every((k) => (KIND_ALIASES[k] ?? k) in statusOfKind))
            record(code.initializer, statusesOf(kinds, n), 'refusal object');
        } else if (code && !kind && BODY_FILES(file) && isStringish(code.initializer) && !isLogArgument(n)) {
          record(code.initializer, bodyStatuses(n), 'error body');
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return { sites, unresolved, statusOfKind };
}
