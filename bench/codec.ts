/**
 * `npm run bench:codec`: what the payload codec (lib/infra/payload-codec.ts) costs per payload, for the payloads a
 * case sends most: the doubt-case workflow input (intake) and a note Update. No services; one process.
 *
 * Prints, per payload kind: its JSON size, the µs of one encode and of one decode (median of BENCH_CODEC_ROUNDS
 * rounds of BENCH_CODEC_BATCH payloads each, after a warm-up), wall clock and this process's CPU time (which does not
 * move with the load of the machine's other processes), and the bytes the encryption adds.
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmPayloadCodec } from '../lib/infra/payload-codec.js';
import { intEnv } from './env.js';

const ROUNDS = intEnv('BENCH_CODEC_ROUNDS', 21);
const BATCH = intEnv('BENCH_CODEC_BATCH', 2000);

const codec = new AesGcmPayloadCodec({ keys: new Map([['bench', randomBytes(32)]]), encryptKeyId: 'bench' });

// Shapes of workflows/shared.ts DoubtCaseInput and the note Update's argument, with realistic lengths.
const kinds: Record<string, unknown> = {
  'case input (DoubtCaseInput)': {
    caseId: '0193a1d2-7c4e-7b1a-9f00-3b2c1d0e9f8a',
    reference: 'GT-2026-000123',
    partyId: '0193a1d2-7c4e-7b1a-9f00-3b2c1d0e9f8b',
    partyGln: '8712345678901',
    gridOperatorId: '0193a1d2-7c4e-7b1a-9f00-3b2c1d0e9f8c',
    gridOperatorGln: '8798765432109',
    connectionEan: '871234567890123456',
    channel: 'consuwijzer',
    isma: false,
    receivedAt: '2026-12-07T03:00:00.000Z',
  },
  'note Update': {
    actor: 'api-key:0193a1d2-7c4e-7b1a-9f00-3b2c1d0e9f8d',
    actorRole: 'case-handler',
    text: 'Gebeld met de leverancier; de klant (mevrouw Jansen, Dorpsstraat 1) bevestigt geen machtiging te hebben gegeven.',
  },
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Cost {
  wall: number;
  cpu: number;
}

/** µs per payload of `run` over the batch: wall clock and CPU (user + system) time. */
async function timed(run: () => Promise<unknown>): Promise<Cost> {
  const c = process.cpuUsage();
  const t = process.hrtime.bigint();
  await run();
  const wall = Number(process.hrtime.bigint() - t) / 1000 / BATCH;
  const used = process.cpuUsage(c);
  return { wall, cpu: (used.user + used.system) / BATCH };
}

async function measure(payload: Payload): Promise<{ enc: Cost; dec: Cost; added: number }> {
  const batch = Array.from({ length: BATCH }, () => payload);
  const enc: Cost[] = [];
  const dec: Cost[] = [];
  let encrypted: Payload[] = [];
  for (let r = 0; r < ROUNDS + 2; r++) {
    const e = await timed(async () => (encrypted = await codec.encode(batch)));
    const d = await timed(() => codec.decode(encrypted));
    if (r >= 2) {
      enc.push(e);
      dec.push(d);
    }
  }
  const size = (p: Payload) =>
    (p.data?.length ?? 0) + Object.entries(p.metadata ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);
  const of = (xs: Cost[]): Cost => ({ wall: median(xs.map((x) => x.wall)), cpu: median(xs.map((x) => x.cpu)) });
  return { enc: of(enc), dec: of(dec), added: size(encrypted[0]!) - size(payload) };
}

const show = (c: Cost) => `${c.wall.toFixed(2)} µs (CPU ${c.cpu.toFixed(2)} µs)`;

process.stdout.write(
  `payload codec, AES-256-GCM (node ${process.version}), median of ${ROUNDS} × ${BATCH}; load ${loadavg()[0]!.toFixed(1)}\n`,
);
for (const [name, value] of Object.entries(kinds)) {
  const payload = defaultPayloadConverter.toPayload(value);
  const m = await measure(payload);
  process.stdout.write(
    `${name.padEnd(28)} ${String(payload.data!.length).padStart(4)} B JSON   encode ${show(m.enc)}   decode ${show(m.dec)}   +${m.added} B\n`,
  );
}
