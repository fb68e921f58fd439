/**
 * Builds the Fastify application as a plugin tree: infrastructure decorations first (config,
 * database, Temporal client), then cross-cutting concerns (errors, auth, OpenAPI), then routes.
 * Only the entry points (server.ts, scripts/start.ts) listen.
 */
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import type postgres from 'postgres';
import type { Config } from '../lib/config.js';
import { loggerOptions } from '../lib/logger.js';
import type { DatabaseProbe, Db } from '../db/client.js';
import type { Mailer } from '../notifications/mailer.js';
import { clientErrorHandler, frameworkErrors, registerErrorHandling } from './plugins/errors.js';
import { boundDateTimes, refuseUnknownQueryParameters, refuseUnstorableText } from './plugins/input.js';
import { AuthLogController, registerAuth } from './plugins/auth.js';
import { documentDefaults, documentRoute } from './plugins/openapi.js';
import healthRoutes from './routes/health.js';
import { registerDatabaseHangGuard } from './plugins/database-hang.js';
import { registerObservability } from './plugins/observability.js';
import { startTracing } from '../lib/observability/tracing.js';
import devMailRoutes from './routes/dev-mail.js';
import partyRoutes from './routes/parties.js';
import contactRoutes from './routes/contacts.js';
import connectionRoutes from './routes/connections.js';
import readingRoutes from './routes/readings.js';
import mandateRoutes from './routes/mandates.js';
import p4Routes, { type P4RouteOptions } from './routes/p4.js';
import blockRoutes from './routes/blocks.js';
import transparencyRoutes from './routes/transparency.js';
import apiKeyRoutes from './routes/api-keys.js';
import clientCertificateRoutes from './routes/client-certificates.js';
import reportRoutes from './routes/reports.js';
import caseRoutes from './routes/cases/index.js';
import supplierReportRoutes from './routes/supplier-reports.js';
import auditRoutes from './routes/audit.js';
import breachRoutes from './routes/breach.js';
import allocationRoutes from './routes/allocation.js';
import reviewRoutes from './routes/reviews.js';
import workItemRoutes from './routes/work-items.js';
import codecRoutes from './routes/codec.js';
import consolePlugin from '../console/index.js';

export interface AppDeps {
  config: Config;
  db: Db;
  sql: postgres.Sql;
  /** Needed by case routes and health; the consent core runs without it. */
  temporal?: Client;
  /** P4 gate batching (defaults suit two cores; bench/p4.ts tunes them). */
  p4Gate?: P4RouteOptions['gate'];
  /** Outgoing mail for what the API sends itself: GT-6 reports on cases whose workflow has closed. */
  mailer?: Mailer;
  /** Folder of the local capturing SMTP server, exposed at GET /dev/mail (development only). */
  mailCaptureDir?: string;
  logger?: FastifyServerOptions['logger'];
  /**
   * PostgreSQL probed on a connection of its own (db/client.ts `probe`): with it, a request that waits on a
   * database that stopped answering gets a 503 within about twice DATABASE_HANG_PROBE_MS (api/plugins/database-hang.ts).
   */
  databaseProbe?: DatabaseProbe;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
}

export type App = FastifyInstance;

/**
 * HTTPS on the API itself (TLS_CERT_FILE, TLS_KEY_FILE), asking for client certificates when TLS_CLIENT_CA_FILE is
 * set (mutual TLS, issue 20). rejectUnauthorized stays off so that a party without a certificate can still use an
 * API key: the auth hook (api/plugins/auth.ts) accepts a certificate only when the socket verified it.
 */
function httpsOptions(config: Config): https.ServerOptions | undefined {
  const { certFile, keyFile, clientCaFile } = config.auth.tls;
  if (!certFile || !keyFile) return undefined;
  return {
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    ...(clientCaFile ? { ca: readFileSync(clientCaFile), requestCert: true, rejectUnauthorized: false } : {}),
    minVersion: 'TLSv1.2',
  };
}

export async function buildApp(deps: AppDeps) {
  const tls = httpsOptions(deps.config);
  const app = Fastify({
    // Fastify's option types tie `https` to a server type of its own; the instance is used as an http one.
    ...((tls ? { https: tls } : {}) as object),
    logger: deps.logger ?? loggerOptions(deps.config),
    // One log line a request, none for each 401 of a guessed-key flood (counted instead: api/plugins/auth.ts).
    logController: new AuthLogController(),
    bodyLimit: deps.config.bodyLimit,
    // Behind a load balancer the API is stateless; request ids correlate logs across instances.
    requestIdHeader: 'x-request-id',
    ajv: {
      customOptions: {
        // Unknown fields are an error (stable 400), not silently dropped.
        removeAdditional: false,
        coerceTypes: 'array',
        useDefaults: true,
        allErrors: false,
        // multipleOf on decimals (capacityKw: 0.001) compares within 1e-9, not float-exactly.
        multipleOfPrecision: 9,
      },
      // Runs after ajv-formats (Fastify passes it to its Ajv compiler; not in Fastify's option types).
      onCreate: boundDateTimes,
    } as FastifyServerOptions['ajv'],
    // Router and socket-level refusals (bad URL, 414, 431, header parse) in the documented error body.
    frameworkErrors,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('deps', deps);
  // Issue 20: request metrics, request spans (when tracing is on) and the request id into Temporal; before any route.
  registerObservability(app, await startTracing(deps.config.observability));
  registerErrorHandling(app);
  refuseUnknownQueryParameters(app);
  refuseUnstorableText(app);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gerede twijfel klantmandaat',
        description:
          'Reasonable doubt about a customer mandate: doubt cases (GT-1..GT-10), the P4 gate and access register (DC-1..DC-6), allocation (AL-1..AL-6). Rule ids are catalogued in docs/rules.md.',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key (gt_...)' } } },
      security: [{ bearer: [] }],
    },
    transform: documentRoute,
    transformObject: (d) => ('openapiObject' in d ? documentDefaults(d.openapiObject) : d.swaggerObject),
  });
  // The documentation UI and its assets are public, like the OpenAPI document they render.
  app.addHook('onRoute', (route) => {
    if (route.url === '/docs' || route.url.startsWith('/docs/'))
      route.config = { ...(route.config ?? {}), public: true };
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { docExpansion: 'list' } });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  if (deps.databaseProbe) {
    const afterMs = deps.config.database.hangProbeAfterMs;
    registerDatabaseHangGuard(app, { probe: deps.databaseProbe, afterMs, probeTimeoutMs: afterMs });
  }
  registerAuth(app, deps.db, deps.config.auth);

  await app.register(healthRoutes);
  // The captured-mail view is development's: it does not exist in production, whatever is passed.
  if (deps.mailCaptureDir && deps.config.nodeEnv !== 'production')
    await app.register(devMailRoutes, { dir: deps.mailCaptureDir });
  // Consent core (DC-1..DC-6, AL-1..AL-6, blocks for GT-2/GT-8).
  for (const routes of [
    partyRoutes,
    contactRoutes,
    connectionRoutes,
    readingRoutes,
    mandateRoutes,
    blockRoutes,
    transparencyRoutes,
    apiKeyRoutes,
    clientCertificateRoutes,
  ]) {
    await app.register(routes);
  }
  await app.register(p4Routes, { gate: deps.p4Gate ?? {}, fairShare: deps.config.p4FairShare });
  // Signals and deadline performance (the seed's success measure).
  await app.register(reportRoutes);
  // Doubt cases (GT-1..GT-10) over the case service and Temporal.
  await app.register(caseRoutes);
  await app.register(supplierReportRoutes);
  // Tamper-evident audit log; GT-11 breach assessments.
  await app.register(auditRoutes);
  await app.register(breachRoutes);
  await app.register(allocationRoutes);
  // GT-5: the grid operators' joint judgement on repeat offenders.
  await app.register(reviewRoutes);
  // Issue 19: what waits for a person, and by when.
  await app.register(workItemRoutes);
  // The Temporal UI's and CLI's codec endpoint (encrypted workflow payloads).
  await app.register(codecRoutes);
  // Issue 19: the people's console, a client of the routes above (in-process), with its own sign-in and session.
  if (deps.config.console.enabled) await app.register(consolePlugin, { config: deps.config.console, db: deps.db });

  return app;
}
