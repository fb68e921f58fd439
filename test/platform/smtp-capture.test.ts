import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { readCapturedMail, startSmtpCapture, type SmtpCapture } from '../../lib/infra/smtp-capture.js';
import { readMail } from '../helpers/mail.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanup.length > 0) await cleanup.pop()!();
});

async function capture(port = 0, dir?: string): Promise<SmtpCapture> {
  const d = dir ?? (await mkdtemp(join(tmpdir(), 'gt-mail-')));
  const c = await startSmtpCapture({ port, dir: d });
  cleanup.push(async () => {
    await c.stop();
    if (!dir) await rm(d, { recursive: true, force: true });
  });
  return c;
}

function transport(url: string) {
  const u = new URL(url);
  return nodemailer.createTransport({
    host: u.hostname,
    port: Number(u.port),
    secure: false,
    connectionTimeout: 5_000,
    greetingTimeout: 5_000,
  });
}

describe('SMTP capture', () => {
  it('captures a real mail sent with nodemailer: JSON with headers, envelope and attachments, plus the raw .eml', async () => {
    const c = await capture();
    const info = await transport(c.url).sendMail({
      from: 'Netbeheer <gerede-twijfel@netbeheer.example>',
      to: 'Doubt Group <Doubt@Supplier.example>',
      cc: 'case-handler@netbeheer.example',
      bcc: 'archive@netbeheer.example',
      subject: 'Gerede twijfel: zaak GT-2026-000123 / Reasonable doubt: case GT-2026-000123',
      text: 'Binnen 72 uur / within 72 hours',
      html: '<p>Binnen 72 uur</p>',
      headers: { 'X-Case-Id': 'GT-2026-000123' },
      attachments: [{ filename: 'evidence.txt', content: 'mandate proof' }],
    });
    expect(info.rejected).toEqual([]);

    const mail = await c.waitFor((m) => m.subject?.includes('GT-2026-000123') ?? false, 5_000);
    expect(mail.messageId).toBe(info.messageId);
    expect(mail.from).toContain('gerede-twijfel@netbeheer.example');
    expect(mail.to).toEqual(['doubt@supplier.example']);
    expect(mail.cc).toEqual(['case-handler@netbeheer.example']);
    expect(mail.envelope.rcptTo.sort()).toEqual([
      'archive@netbeheer.example',
      'case-handler@netbeheer.example',
      'doubt@supplier.example',
    ]);
    expect(mail.text).toContain('72 uur');
    expect(mail.html).toContain('<p>Binnen 72 uur</p>');
    expect(mail.headers['x-case-id']).toBe('GT-2026-000123');
    expect(mail.attachments).toEqual([
      expect.objectContaining({ filename: 'evidence.txt', contentType: 'text/plain', size: 13 }),
    ]);
    expect(mail.jsonFile).toMatch(/\/\d{8}T\d{9}Z-[0-9a-f]{12}\.json$/);
    expect(existsSync(mail.jsonFile)).toBe(true);
    expect(await readFile(mail.emlFile, 'utf8')).toContain('Subject: Gerede twijfel');

    // Another process reads the same folder.
    const fromDisk = await readCapturedMail(c.dir);
    expect(fromDisk.map((m) => m.id)).toEqual([mail.id]);
    expect(await c.list()).toEqual(fromDisk);
  });

  it('waitFor fails after its timeout when nothing matches', async () => {
    const c = await capture();
    await expect(c.waitFor((m) => m.subject === 'never', 300)).rejects.toThrow(/no matching mail within 300 ms/);
  });

  it('refusing mode answers 421 until switched off (SMTP down, then up)', async () => {
    const c = await capture();
    c.setRefusing(true);
    const t = transport(c.url);
    const msg = { from: 'a@netbeheer.example', to: 'b@supplier.example', subject: 'retry me', text: 'x' };
    await expect(t.sendMail(msg)).rejects.toMatchObject({ responseCode: 421 });
    expect(await c.list()).toEqual([]);
    c.setRefusing(false);
    await t.sendMail(msg);
    expect((await c.list()).map((m) => m.subject)).toEqual(['retry me']);
  });

  it('can be stopped and started again on the same port, keeping earlier mail', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gt-mail-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const first = await startSmtpCapture({ port: 0, dir });
    await transport(first.url).sendMail({ from: 'a@x.example', to: 'b@y.example', subject: 'before', text: '1' });
    await first.stop();
    await expect(
      transport(first.url).sendMail({ from: 'a@x.example', to: 'b@y.example', subject: 'while down', text: '2' }),
    ).rejects.toThrow();
    const second = await capture(first.port, dir);
    expect(second.url).toBe(first.url);
    await transport(second.url).sendMail({ from: 'a@x.example', to: 'b@y.example', subject: 'after', text: '3' });
    expect((await second.list()).map((m) => m.subject)).toEqual(['before', 'after']);
  });

  it('the shared capture of the test run is reachable and readable through readMail()', async () => {
    const subject = `shared capture ${Date.now()}-${Math.random()}`;
    await transport(inject('smtpUrl')).sendMail({
      from: 'a@netbeheer.example',
      to: 'shared@supplier.example',
      subject,
      text: 'hi',
    });
    const mail = await readMail(inject('mailDir'), (m) => m.subject === subject, 5_000);
    expect(mail.to).toEqual(['shared@supplier.example']);
  });
});
