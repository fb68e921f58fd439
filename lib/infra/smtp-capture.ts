/**
 * A real local SMTP server that keeps every message instead of delivering it (development and tests).
 *
 * Each message is written to `dir` as `<timestamp>-<id>.eml` (raw) and `<timestamp>-<id>.json`
 * (parsed: CapturedMail). The JSON is written last and atomically (tmp + rename), so a reader in
 * another process either sees a complete message or none.
 *
 * `setRefusing(true)` makes the server answer new connections with `421` (service not available), as a
 * mail server that is down or overloaded would; tests of "SMTP down, then up" use it on their own
 * instance (`startSmtpCapture({ port: 0 })`), since the shared test instance serves all test files.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { infraLogger } from './log.js';

export interface CapturedAttachment {
  filename: string | undefined;
  contentType: string;
  size: number;
  checksum: string;
}

export interface CapturedMail {
  /** Capture id (also in the file names). */
  id: string;
  /** Message-ID header. */
  messageId: string | undefined;
  /** From header, as text ("Name <a@b>"). */
  from: string | undefined;
  /** Addresses of the To / Cc headers (lower-case). */
  to: string[];
  cc: string[];
  subject: string | undefined;
  text: string | undefined;
  html: string | undefined;
  /** Date header (ISO). */
  date: string | undefined;
  /** When the capture server received it (ISO). */
  receivedAt: string;
  /** SMTP envelope: the recipients actually given in RCPT TO (includes Bcc). */
  envelope: { mailFrom: string | undefined; rcptTo: string[] };
  /** Selected headers, lower-case names. */
  headers: Record<string, string>;
  attachments: CapturedAttachment[];
  /** Paths of the stored files. */
  jsonFile: string;
  emlFile: string;
}

export interface SmtpCapture {
  /** smtp://host:port, for SMTP_URL. */
  url: string;
  port: number;
  dir: string;
  stop(): Promise<void>;
  list(): Promise<CapturedMail[]>;
  waitFor(predicate: (mail: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  /** While true, new connections get `421` and no mail is accepted. */
  setRefusing(refusing: boolean): void;
}

export interface SmtpCaptureOptions {
  /** 0 or undefined: a free port. */
  port?: number;
  dir: string;
  host?: string;
  logger?: Logger;
  /** Largest accepted message in bytes (default 30 MB). */
  maxBytes?: number;
}

function addresses(value: AddressObject | AddressObject[] | undefined): string[] {
  if (!value) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.flatMap((a) => a.value.map((v) => (v.address ?? '').toLowerCase())).filter((a) => a !== '');
}

const KEPT_HEADERS = [
  'reply-to',
  'in-reply-to',
  'references',
  'x-case-id',
  'x-gt-case-id',
  'auto-submitted',
  'content-language',
];

function headerText(parsed: ParsedMail): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of parsed.headerLines) {
    if (KEPT_HEADERS.includes(line.key) || line.key.startsWith('x-')) {
      out[line.key] = line.line.slice(line.line.indexOf(':') + 1).trim();
    }
  }
  return out;
}

function envelopeAddress(a: SMTPServerAddress | false): string | undefined {
  return a === false ? undefined : a.address.toLowerCase();
}

async function readStream(stream: SMTPServerDataStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  if (stream.sizeExceeded) throw Object.assign(new Error('message exceeds the size limit'), { responseCode: 552 });
  return Buffer.concat(chunks);
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('.', '');
}

// long: the SMTP capture server and its handlers share one closure
export async function startSmtpCapture(options: SmtpCaptureOptions): Promise<SmtpCapture> {
  const logger = options.logger ?? infraLogger();
  const host = options.host ?? '127.0.0.1';
  const dir = options.dir;
  await mkdir(dir, { recursive: true });
  const events = new EventEmitter();
  let refusing = false;

  const store = async (raw: Buffer, session: SMTPServerSession): Promise<CapturedMail> => {
    const receivedAt = new Date();
    const id = randomBytes(6).toString('hex');
    const base = `${stamp(receivedAt)}-${id}`;
    const emlFile = join(dir, `${base}.eml`);
    const jsonFile = join(dir, `${base}.json`);
    const parsed = await simpleParser(raw);
    const mail: CapturedMail = {
      id,
      messageId: parsed.messageId,
      from: parsed.from?.text,
      to: addresses(parsed.to),
      cc: addresses(parsed.cc),
      subject: parsed.subject,
      text: parsed.text,
      html: typeof parsed.html === 'string' ? parsed.html : undefined,
      date: parsed.date?.toISOString(),
      receivedAt: receivedAt.toISOString(),
      envelope: {
        mailFrom: envelopeAddress(session.envelope.mailFrom),
        rcptTo: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
      },
      headers: headerText(parsed),
      attachments: parsed.attachments.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        size: a.size,
        checksum: a.checksum,
      })),
      jsonFile,
      emlFile,
    };
    await writeFile(emlFile, raw);
    await writeFile(`${jsonFile}.tmp`, JSON.stringify(mail, null, 2));
    await rename(`${jsonFile}.tmp`, jsonFile);
    return mail;
  };

  const server = new SMTPServer({
    // Plain local SMTP: no TLS upgrade (clients would reject the self-signed default cert), any login accepted.
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    size: options.maxBytes ?? 30 * 1024 * 1024,
    logger: false,
    banner: 'gerede-twijfel mail capture',
    closeTimeout: 2_000,
    onAuth(_auth, _session, callback) {
      callback(null, { user: 'capture' });
    },
    onConnect(_session, callback) {
      if (refusing) {
        callback(
          Object.assign(new Error('Service not available, try again later (capture refusing)'), { responseCode: 421 }),
        );
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      readStream(stream)
        .then((raw) => store(raw, session))
        .then((mail) => {
          logger.info({ to: mail.to, subject: mail.subject, file: mail.jsonFile }, 'captured mail');
          events.emit('mail', mail);
          callback();
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'could not store captured mail');
          const e = err instanceof Error ? err : new Error(String(err));
          callback(Object.assign(e, { responseCode: (e as { responseCode?: number }).responseCode ?? 451 }));
        });
    },
  });
  server.on('error', (err) => logger.warn({ err }, 'smtp capture error'));

  const port = await new Promise<number>((resolve, reject) => {
    const onError = (err: Error): void =>
      reject(new Error(`SMTP capture cannot listen on ${host}:${options.port ?? 0}`, { cause: err }));
    server.server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.server.off('error', onError);
      const address = server.server.address();
      resolve(typeof address === 'object' && address !== null ? address.port : (options.port ?? 0));
    });
  });
  logger.info({ port, dir }, 'SMTP capture listening');

  let stopping: Promise<void> | undefined;
  return {
    url: `smtp://${host}:${port}`,
    port,
    dir,
    stop() {
      stopping ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return stopping;
    },
    list: () => readCapturedMail(dir),
    setRefusing(value: boolean) {
      refusing = value;
    },
    async waitFor(predicate, timeoutMs = 10_000) {
      return new Promise<CapturedMail>((resolve, reject) => {
        const onMail = (mail: CapturedMail): void => {
          if (predicate(mail)) finish(undefined, mail);
        };
        const timer = setTimeout(
          () => finish(new Error(`no matching mail within ${timeoutMs} ms in ${dir}`)),
          timeoutMs,
        );
        const finish = (err: Error | undefined, mail?: CapturedMail): void => {
          clearTimeout(timer);
          events.off('mail', onMail);
          if (err) reject(err);
          else resolve(mail!);
        };
        events.on('mail', onMail);
        readCapturedMail(dir).then(
          (all) => {
            const hit = all.find(predicate);
            if (hit) finish(undefined, hit);
          },
          (cause: unknown) => finish(new Error(`cannot read ${dir}`, { cause })),
        );
      });
    },
  };
}

/** Every captured message in `dir`, oldest first (works from any process). */
export async function readCapturedMail(dir: string): Promise<CapturedMail[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`cannot read captured mail in ${dir}`, { cause: err });
  }
  const files = names.filter((n) => n.endsWith('.json')).sort();
  const mails = await Promise.all(
    files.map(async (name) => JSON.parse(await readFile(join(dir, name), 'utf8')) as CapturedMail),
  );
  return mails;
}

/** Poll `dir` until a captured mail matches (for tests whose capture server runs in another process). */
export async function waitForCapturedMail(
  dir: string,
  predicate: (mail: CapturedMail) => boolean,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<CapturedMail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = (await readCapturedMail(dir)).find(predicate);
    if (hit) return hit;
    if (Date.now() >= deadline) throw new Error(`no matching mail within ${timeoutMs} ms in ${dir}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
