/**
 * The remote codec endpoint of the Temporal UI and CLI (Temporal's codec server protocol): POST /codec/decode and
 * /codec/encode take `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }` and answer the same shape, run
 * through this system's payload codec (lib/infra/payload-codec.ts).
 *
 * Who: decode is admin's — the one role whose scope is every case (domain/visibility.ts scopeOf): a payload carries
 * no case the route could check visibility against, so a role scoped to one grid operator or party (a compliance
 * officer included, issue 18) may not read them. Encode is admin's only: it makes payloads the workers accept as genuine (a signal or a start from
 * the UI), bypassing the API's own checks and audit. Every call is audited with who asked and which key ids were read.
 * CORS: the Temporal UI calls from the browser, from the origins in TEMPORAL_CODEC_CORS_ORIGINS.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { requireRole } from '../plugins/auth.js';
import { actorFrom, BODY_ERRORS, errorResponses, jsonBodiesOnly } from '../plugins/core-access.js';
import { recordAudit } from '../../db/repositories/audit.js';
import { validationError } from '../../lib/errors.js';
import {
  decodeJsonPayloads,
  encodeJsonPayloads,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  payloadCodec,
  PayloadDecryptionError,
  type FullJsonPayload,
  type JsonPayload,
} from '../../lib/infra/payload-codec.js';

const BASE64 = '^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$';
const Base64 = Type.String({ pattern: BASE64, maxLength: 4_000_000, description: 'base64' });

const Payload = Type.Object(
  {
    metadata: Type.Record(Type.String({ maxLength: 256 }), Base64, {
      description: 'metadata values in base64 (encoding: binary/encrypted, encryption-key-id: the key)',
    }),
    data: Type.Optional(Base64),
  },
  // Other proto3 JSON fields of a Payload (newer servers add some) are ignored, not refused: the UI sends what it has.
  { additionalProperties: true, title: 'CodecPayload', description: 'A Temporal Payload in proto3 JSON' },
);
const Payloads = Type.Object(
  { payloads: Type.Array(Payload, { maxItems: 1000 }) },
  { title: 'CodecPayloads', description: 'Temporal remote codec protocol body' },
);

const keyIdOf = (p: JsonPayload): string | undefined => {
  const m = p.metadata ?? {};
  if (Buffer.from(m['encoding'] ?? '', 'base64').toString('utf8') !== ENCRYPTED_ENCODING) return undefined;
  return Buffer.from(m[KEY_ID_METADATA] ?? '', 'base64').toString('utf8');
};

const codecRoutes: FastifyPluginAsyncTypebox = async (app) => {
  jsonBodiesOnly(app);
  const { db, config } = app.deps;
  const codec = payloadCodec(config.temporal.codec);
  const origins = new Set(config.temporal.codec.corsOrigins);

  // On every answer of these routes, refusals by the auth hook included, so the UI can read a 401 or 403.
  app.addHook('onSend', async (request, reply, payload) => {
    const origin = request.headers.origin;
    if (origin && origins.has(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-allow-credentials', 'true');
      reply.header('vary', 'Origin');
    }
    return payload;
  });
  // The browser's preflight carries no credentials: public, and it reveals nothing but the allowed origin.
  const preflight = async (request: FastifyRequest, reply: FastifyReply) => {
    const origin = request.headers.origin;
    if (origin && origins.has(origin))
      reply
        .header('access-control-allow-methods', 'POST, OPTIONS')
        .header('access-control-allow-headers', 'authorization, content-type, x-namespace')
        .header('access-control-max-age', '600');
    return reply.status(204).send();
  };
  for (const url of ['/codec/decode', '/codec/encode'])
    app.options(url, { config: { public: true }, schema: { hide: true } }, preflight);

  const audit = async (request: FastifyRequest, action: string, payloads: JsonPayload[], keyIds: Set<string>) =>
    recordAudit(db, {
      ...actorFrom(request.principal),
      action,
      entityType: 'temporal_namespace',
      entityId: String(request.headers['x-namespace'] ?? config.temporal.namespace),
      data: { payloads: payloads.length, keyIds: [...keyIds].sort(), origin: request.headers.origin ?? null },
    });

  app.post(
    '/codec/decode',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['temporal'],
        summary: 'Decrypt Temporal payloads for the Temporal UI and CLI (remote codec protocol; admin)',
        description:
          'Payloads without `encoding: binary/encrypted` come back unchanged. Audited: who decoded, how many payloads, ' +
          'under which key ids (the `X-Namespace` header, when the UI sends it, names the namespace). A payload under a key ' +
          'that is not configured, or that fails authentication, is a 400 naming it.',
        body: Payloads,
        response: { 200: Payloads, ...errorResponses(...BODY_ERRORS, 503) },
      },
    },
    async (request) => {
      const payloads = request.body.payloads as JsonPayload[];
      const keyIds = new Set(payloads.map(keyIdOf).filter((k): k is string => k !== undefined));
      const decoded: FullJsonPayload[] = [];
      for (const [i, p] of payloads.entries()) {
        try {
          decoded.push(...(await decodeJsonPayloads(codec, [p])));
        } catch (err) {
          if (!(err instanceof PayloadDecryptionError)) throw err;
          throw validationError('payload_not_decodable', err.message, `body.payloads.${i}`, {
            keyId: err.keyId ?? null,
          });
        }
      }
      await audit(request, 'temporal.payloads_decoded', payloads, keyIds);
      return { payloads: decoded };
    },
  );

  app.post(
    '/codec/encode',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['temporal'],
        summary: 'Encrypt Temporal payloads under the current key (remote codec protocol; admin)',
        description:
          'For the UI and CLI when they send a signal or start a workflow; audited. Payloads come back with ' +
          '`encoding: binary/encrypted` and `encryption-key-id` of TEMPORAL_CODEC_KEY_ID.',
        body: Payloads,
        response: { 200: Payloads, ...errorResponses(...BODY_ERRORS, 503) },
      },
    },
    async (request) => {
      const payloads = request.body.payloads as JsonPayload[];
      const encoded = await encodeJsonPayloads(codec, payloads);
      await audit(request, 'temporal.payloads_encoded', payloads, new Set([codec.encryptKeyId]));
      return { payloads: encoded };
    },
  );
};

export default codecRoutes;
