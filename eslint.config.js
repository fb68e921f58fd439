// Lint rules that catch what the type checker does not: unawaited promises anywhere, and I/O or
// Node built-ins in workflow code (workflows must stay deterministic and replayable).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', '.data/**', 'db/migrations/**'] },
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.base],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'crypto', 'http', 'https', 'net', 'os', 'child_process'], message: 'No Node built-ins in workflow code: it must be deterministic.' },
            { group: ['**/db/**', 'drizzle-orm*', 'postgres', 'nodemailer', '**/notifications/**', '@temporalio/client', '@temporalio/worker'], message: 'No I/O in workflow code: call an activity.' },
            { group: ['**/activities/**'], allowTypeImports: true, message: 'Import activities only as types (proxyActivities).' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'setTimeout', message: 'Use sleep()/condition() from @temporalio/workflow.' }, { name: 'fetch', message: 'No I/O in workflow code.' }],
    },
  },
);
