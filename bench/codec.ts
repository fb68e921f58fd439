/**
 * `npm run bench:codec`: what the payload codec (lib/infra/payload-codec.ts) costs per payload, for the payloads a
 * case sends most: the doubt-case workflow input (intake) and a note Update. No services; one process.
 *
 * Prints, per payload kind: its JSON size, the µs of one encode and of one decode (median of BENCH_CODEC_ROUNDS
 * rounds of BENCH_CODEC_BATCH payloads each, after a warm-up), and the bytes the encryption adds.
 */
import { randomBytes } from 'node:crypto';
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

async function measure(payload: Payload): Promise<{ encUs: number; decUs: number; added: number }> {
  const batch = Array.from({ length: BATCH }, () => payload);
  const enc: number[] = [];
  const dec: number[] = [];
  let encrypted: Payload[] = [];
  for (let r = 0; r < ROUNDS + 2; r++) {
    let t = process.hrtime.bigint();
    encrypted = await codec.encode(batch);
    const e = Number(process.hrtime.bigint() - t) / 1000 / BATCH;
    t = process.hrtime.bigint();
    await codec.decode(encrypted);
    const d = Number(process.hrtime.bigint() - t) / 1000 / BATCH;
    if (r >= 2) {
      enc.push(e);
      dec.push(d);
    }
  }
  const size = (p: Payload) =>
    (p.data?.length ?? 0) + Object.entries(p.metadata ?? {}).reduce((n, [k, v]) => n + k.length + v.length, 0);
  return { encUs: median(enc), decUs: median(dec), added: size(encrypted[0]!) - size(payload) };
}

process.stdout.write(`payload codec, AES-256-GCM (node ${process.version}), median of ${ROUNDS} × ${BATCH}\n`);
for (const [name, value] of Object.entries(kinds)) {
  const payload = defaultPayloadConverter.toPayload(value);
  const m = await measure(payload);
  process.stdout.write(
    `${name.padEnd(28)} ${String(payload.data!.length).padStart(4)} B JSON   encode ${m.encUs.toFixed(2)} µs   decode ${m.decUs.toFixed(2)} µs   +${m.added} B\n`,
  );
}
