import { Type, type Static } from '@sinclair/typebox';
import type { ClientCertificate } from '../../db/schema/index.js';
import { CERTIFICATE_ROLES } from '../../db/repositories/client-certificates.js';
import { DateTime, Gln13, Page, Paging, Uuid } from './common.js';

export const CertificateRoleSchema = Type.Union(CERTIFICATE_ROLES.map((r) => Type.Literal(r)));

export const ClientCertificateSchema = Type.Object(
  {
    id: Uuid,
    fingerprint: Type.String({ description: 'SHA-256 of the DER certificate, 64 lower-case hex digits' }),
    subject: Type.String(),
    issuer: Type.String(),
    serialNumber: Type.String(),
    label: Type.String(),
    role: CertificateRoleSchema,
    partyId: Type.Union([Uuid, Type.Null()]),
    notAfter: Type.String({ ...DateTime, description: 'Refused from this instant on' }),
    createdAt: DateTime,
    revokedAt: Type.Union([DateTime, Type.Null()]),
    lastUsedAt: Type.Union([DateTime, Type.Null()], {
      description: 'Last authenticated use, at most AUTH_LAST_USED_FLUSH_MS (default 1 min) behind',
    }),
  },
  { title: 'ClientCertificate' },
);

export const ClientCertificateRegister = Type.Object(
  {
    certificatePem: Type.String({
      minLength: 1,
      maxLength: 16_384,
      description: 'The client certificate (PEM); its SHA-256 fingerprint, subject and not-after are read from it',
    }),
    role: CertificateRoleSchema,
    label: Type.String({ minLength: 1, maxLength: 200 }),
    partyGln: Gln13,
    notAfter: Type.Optional(
      Type.String({
        ...DateTime,
        description: 'Refuse it from then on, before the certificate’s own not-after (e.g. the end of the agreement)',
      }),
    ),
  },
  { additionalProperties: false, title: 'ClientCertificateRegister' },
);

export const ClientCertificateQuery = Type.Intersect([
  Paging,
  Type.Object({ includeRevoked: Type.Boolean({ default: false, description: 'Also revoked and expired ones' }) }),
]);
export const ClientCertificateList = Page(ClientCertificateSchema);

export function toClientCertificateDto(c: ClientCertificate): Static<typeof ClientCertificateSchema> {
  return {
    id: c.id,
    fingerprint: c.fingerprint,
    subject: c.subject,
    issuer: c.issuer,
    serialNumber: c.serialNumber,
    label: c.label,
    role: c.role as Static<typeof CertificateRoleSchema>,
    partyId: c.partyId,
    notAfter: c.notAfter.toISOString(),
    createdAt: c.createdAt.toISOString(),
    revokedAt: c.revokedAt ? c.revokedAt.toISOString() : null,
    lastUsedAt: c.lastUsedAt ? c.lastUsedAt.toISOString() : null,
  };
}
