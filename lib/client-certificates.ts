import type { X509Certificate } from 'node:crypto';

/** A certificate's SHA-256 fingerprint as stored: 64 lower-case hex digits, no colons. */
export function fingerprintOf(cert: X509Certificate): string {
  return cert.fingerprint256.replace(/:/g, '').toLowerCase();
}

/**
 * A fingerprint as an ingress forwards it (nginx `$ssl_client_fingerprint` is SHA-1 by default: configure SHA-256;
 * HAProxy, Envoy and others send hex with or without colons) in the stored form, or null when it is none.
 */
export function normaliseFingerprint(raw: string): string | null {
  const hex = raw.trim().replace(/:/g, '').toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : null;
}
