/**
 * Outgoing mail over SMTP (nodemailer). One pooled transport per process; activities send through it
 * and let Temporal retry a failed send with backoff (the transport itself does not retry).
 */
import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';

export interface OutgoingMail {
  to: string[];
  cc?: string[];
  subject: string;
  text: string;
  html: string;
  /** Stable Message-ID, so a retried send of the same notification can be recognised as one. */
  messageId?: string;
  headers?: Record<string, string>;
}

export interface SentMail {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

export interface Mailer {
  readonly from: string;
  send(mail: OutgoingMail): Promise<SentMail>;
  close(): void;
}

export class MailRejectedError extends Error {
  constructor(
    message: string,
    readonly rejected: string[],
  ) {
    super(message);
    this.name = 'MailRejectedError';
  }
}

/** nodemailer error codes raised before the server accepted the message for anyone. */
const BEFORE_ACCEPTANCE = new Set(['ECONNECTION', 'EDNS', 'EAUTH', 'ETLS', 'EENVELOPE', 'ENOAUTH']);

/**
 * Whether a failed send certainly reached no one (so a retry may say something new); a timeout or a
 * dropped connection during DATA is not certain: the server may have accepted the message.
 */
export function certainlyNotSent(err: unknown): boolean {
  if (err instanceof MailRejectedError) return true;
  const e = err as { code?: unknown; syscall?: unknown; command?: unknown } | undefined;
  // A socket that never connected (nodemailer: ESOCKET with syscall connect) carried nothing.
  if (e?.syscall === 'connect' || e?.command === 'CONN') return true;
  return typeof e?.code === 'string' && BEFORE_ACCEPTANCE.has(e.code);
}

/** SMTP timeouts: a dead or hung server fails a send within seconds, and Temporal retries it (MAIL_ACTIVITY). */
export const SMTP_TIMEOUT_MS = 10_000;

export function createMailer(
  smtpUrl: string,
  opts: { from: string; maxConnections?: number; timeoutMs?: number },
): Mailer {
  const url = new URL(smtpUrl);
  const options: SMTPPool.Options = {
    pool: true,
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 25)),
    secure: url.protocol === 'smtps:',
    maxConnections: opts.maxConnections ?? 5,
    connectionTimeout: opts.timeoutMs ?? SMTP_TIMEOUT_MS,
    greetingTimeout: opts.timeoutMs ?? SMTP_TIMEOUT_MS,
    socketTimeout: 2 * (opts.timeoutMs ?? SMTP_TIMEOUT_MS),
    dnsTimeout: opts.timeoutMs ?? SMTP_TIMEOUT_MS,
    ...(url.username
      ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } }
      : {}),
    // A local capture server has no certificate worth checking; real servers are reached with smtps:// or STARTTLS.
    tls: { rejectUnauthorized: url.hostname !== '127.0.0.1' && url.hostname !== 'localhost' },
  };
  const transport = nodemailer.createTransport(options);
  return {
    from: opts.from,
    async send(mail) {
      const info = await transport.sendMail({
        from: opts.from,
        to: mail.to,
        ...(mail.cc && mail.cc.length > 0 ? { cc: mail.cc } : {}),
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        ...(mail.messageId ? { messageId: mail.messageId } : {}),
        ...(mail.headers ? { headers: mail.headers } : {}),
      });
      const addr = (a: unknown) => (typeof a === 'string' ? a : String((a as { address?: string }).address ?? ''));
      const accepted = ((info.accepted ?? []) as unknown[]).map(addr);
      const rejected = ((info.rejected ?? []) as unknown[]).map(addr);
      if (accepted.length === 0)
        throw new MailRejectedError(`no recipient accepted the message (${rejected.join(', ')})`, rejected);
      return { messageId: info.messageId, accepted, rejected };
    },
    close() {
      transport.close();
    },
  };
}
