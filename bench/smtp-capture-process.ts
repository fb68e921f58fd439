/**
 * The SMTP capture as a process of its own, so bench:faults can SIGKILL it and start it again on the same port:
 * `node --import tsx bench/smtp-capture-process.ts <port> <dir>`. Prints one line "smtp capture ready <url>" once
 * it listens; SIGTERM closes it.
 */
import { pino } from 'pino';
import { startSmtpCapture } from '../lib/infra/smtp-capture.js';

const [port, dir] = process.argv.slice(2);
if (!port || !dir) throw new Error('usage: smtp-capture-process.ts <port> <dir>');
const capture = await startSmtpCapture({ port: Number(port), dir, logger: pino({ level: 'warn' }) });
process.stdout.write(`smtp capture ready ${capture.url}\n`);
process.once('SIGTERM', () => {
  void capture.stop().finally(() => process.exit(0));
});
