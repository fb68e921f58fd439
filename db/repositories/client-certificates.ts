/**
 * Client certificates of machine clients (admin): registered to a party and role by the SHA-256 fingerprint of
 * the certificate, with its not-after and revocation. The TLS layer (the API with requestCert, or the ingress)
 * checks the chain and the proof of the private key; this register says who the certificate speaks for.
 */
import { X509Certificate } from 'node:crypto';
import { and, asc, count, eq, gt, isNull, sql } from 'drizzle-orm';
import type { DbOrTx } from '../client.js';
import { pgArray } from '../pg-array.js';
import { clientCertificates, parties, type ClientCertificate, type Role } from '../schema/index.js';
import { conflict, notFound, validationError } from '../../lib/errors.js';
import { fingerprintOf } from '../../lib/client-certificates.js';
import { recordAudit } from './audit.js';
import { auditActor, type Actor } from './actor.js';
import { PARTY_ROLES_FOR } from './api-keys.js';

/** Roles a certificate may carry: machine clients acting for a party (people use keys, for now). */
export const CERTIFICATE_ROLES = ['p4-client', 'supplier', 'brp'] as const satisfies readonly Role[];
export type CertificateRole = (typeof CERTIFICATE_ROLES)[number];

export interface ClientCertificateInput {
  /** The client certificate, PEM. */
  certificatePem: string;
  role: CertificateRole;
  label: string;
  partyId: string;
  /** Refuse it before the certificate's own not-after (e.g. the end of the agreement). */
  notAfter?: Date | null;
}

export async function registerClientCertificate(
  db: DbOrTx,
  actor: Actor,
  input: ClientCertificateInput,
  now = new Date(),
): Promise<ClientCertificate> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(input.certificatePem);
  } catch {
    throw validationError('certificate_invalid', 'Not a PEM-encoded X.509 certificate', 'certificatePem');
  }
  if (cert.ca)
    throw validationError('certificate_is_ca', 'Register the client certificate, not a CA', 'certificatePem');
  const own = new Date(cert.validTo);
  const notAfter = input.notAfter && input.notAfter < own ? input.notAfter : own;
  if (notAfter.getTime() <= now.getTime())
    throw validationError(
      'certificate_expired',
      `The certificate is not valid after ${notAfter.toISOString()}`,
      'notAfter',
    );
  const fingerprint = fingerprintOf(cert);
  return db.transaction(async (tx) => {
    const [p] = await tx.select().from(parties).where(eq(parties.id, input.partyId));
    if (!p) throw notFound('party_not_found', `No party ${input.partyId}`, 'partyId');
    const needs = PARTY_ROLES_FOR[input.role] ?? [];
    if (!p.roles.some((r) => needs.includes(r)))
      throw validationError(
        'party_role_mismatch',
        `A ${input.role} certificate needs a party with role ${needs.join(' or ')}`,
        'partyId',
      );
    const [row] = await tx
      .insert(clientCertificates)
      .values({
        fingerprint,
        subject: cert.subject,
        issuer: cert.issuer,
        serialNumber: cert.serialNumber,
        label: input.label,
        role: input.role,
        partyId: input.partyId,
        notAfter,
      })
      .onConflictDoNothing()
      .returning();
    if (!row)
      throw conflict(
        'certificate_already_registered',
        `A certificate with fingerprint ${fingerprint} is registered already`,
        'certificatePem',
      );
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'client_certificate.registered',
      entityType: 'client_certificate',
      entityId: row.id,
      data: {
        fingerprint,
        subject: row.subject,
        role: row.role,
        partyId: row.partyId,
        notAfter: notAfter.toISOString(),
      },
    });
    return row;
  });
}

export async function listClientCertificates(
  db: DbOrTx,
  f: { includeRevoked: boolean; limit: number; offset: number },
  now = new Date(),
): Promise<{ items: ClientCertificate[]; total: number }> {
  // Without includeRevoked: the certificates that work now (neither revoked nor past not-after).
  const cond = f.includeRevoked
    ? undefined
    : and(isNull(clientCertificates.revokedAt), gt(clientCertificates.notAfter, now));
  const items = await db
    .select()
    .from(clientCertificates)
    .where(cond)
    .orderBy(asc(clientCertificates.createdAt), asc(clientCertificates.id))
    .limit(f.limit)
    .offset(f.offset);
  const [total] = await db.select({ n: count() }).from(clientCertificates).where(cond);
  return { items, total: total?.n ?? 0 };
}

/** Revoke a certificate (idempotent). Takes effect at once on this API instance, on the others within the cache TTL. */
export async function revokeClientCertificate(
  db: DbOrTx,
  actor: Actor,
  id: string,
  now = new Date(),
): Promise<ClientCertificate> {
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(clientCertificates).where(eq(clientCertificates.id, id)).for('update');
    if (!existing) throw notFound('client_certificate_not_found', `No client certificate ${id}`, 'clientCertificateId');
    if (existing.revokedAt) return existing;
    const [row] = await tx
      .update(clientCertificates)
      .set({ revokedAt: now })
      .where(eq(clientCertificates.id, id))
      .returning();
    if (!row) throw new Error('client certificate update returned nothing');
    await recordAudit(tx, {
      ...auditActor(actor),
      action: 'client_certificate.revoked',
      entityType: 'client_certificate',
      entityId: id,
      data: { fingerprint: existing.fingerprint },
    });
    return row;
  });
}

/** As recordKeysLastUsed (db/repositories/api-keys.ts), for certificates. */
export async function recordCertificatesLastUsed(
  db: DbOrTx,
  uses: ReadonlyArray<{ id: string; at: Date }>,
): Promise<void> {
  if (uses.length === 0) return;
  await db.execute(sql`
    update client_certificates c set last_used_at = u.at
      from unnest(${pgArray(uses.map((u) => u.id))}::uuid[], ${pgArray(uses.map((u) => u.at.toISOString()))}::timestamptz[]) as u(id, at)
     where c.id = u.id and (c.last_used_at is null or c.last_used_at < u.at)`);
}
