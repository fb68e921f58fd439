/** What test/global-setup.ts hands to every test file through `inject(...)`. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** Migrated database `gerede_twijfel` shared by all files (use freshDatabase() for isolation). */
    databaseUrl: string;
    /** Maintenance database `postgres` on the same server (CREATE/DROP DATABASE). */
    adminDatabaseUrl: string;
    /** Migrated template database that freshDatabase() copies. */
    templateDatabase: string;
    /** smtp://127.0.0.1:<port> of the shared capture server. */
    smtpUrl: string;
    /** Where the shared capture server writes each message (<timestamp>-<id>.json / .eml). */
    mailDir: string;
    /** host:port of the Temporal dev server or, with TEST_TEMPORAL=cluster, the self-hosted server on PostgreSQL (namespace `default`, search attributes registered). */
    temporalAddress: string;
    temporalNamespace: string;
    /** `dev` (SQLite visibility) or `cluster` (self-hosted server, PostgreSQL visibility). */
    temporalKind: 'dev' | 'cluster';
    /** `.tools/temporal-test-server/run`, for TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } }). */
    testServerPath: string;
  }
}

export {};
