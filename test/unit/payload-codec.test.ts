/**
 * The payload codec (lib/infra/payload-codec.ts) and its configuration: AES-256-GCM round trip, tampering and
 * relabelling fail authentication, unknown keys fail by name, plain payloads pass through, rotation, and key
 * material that is refused at start without being echoed.
 */
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_CODEC_KEY, loadConfig } from '../../lib/config.js';
import {
  AesGcmPayloadCodec,
  decodeHistoryJson,
  ENCRYPTED_ENCODING,
  KEY_ID_METADATA,
  PayloadDecryptionError,
  temporalDataConverter,
} from '../../lib/infra/payload-codec.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const codec = (keys: Record<string, Buffer>, encryptKeyId: string) =>
  new AesGcmPayloadCodec({ keys: new Map(Object.entries(keys)), encryptKeyId });

const input = { caseId: 'c-1', connectionEan: '871234567890123456', note: 'Klant belde: mevrouw De Vries' };
const plain = (): Payload => defaultPayloadConverter.toPayload(input);
const meta = (p: Payload, k: string) => Buffer.from(p.metadata![k]!).toString('utf8');

describe('AES-256-GCM payload codec', () => {
  it('encrypts the whole payload under the configured key id and decrypts it back', async () => {
    const c = codec({ k1 }, 'k1');
    const [enc] = await c.encode([plain()]);
    expect(meta(enc!, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(meta(enc!, KEY_ID_METADATA)).toBe('k1');
    const raw = Buffer.from(enc!.data!).toString('latin1');
    for (const clear of ['871234567890123456', 'De Vries', 'json/plain']) expect(raw).not.toContain(clear);
    const [dec] = await c.decode([enc!]);
    expect(defaultPayloadConverter.fromPayload(dec!)).toEqual(input);
    expect(meta(dec!, 'encoding')).toBe('json/plain');
  });

  it('uses a fresh IV per payload', async () => {
    const c = codec({ k1 }, 'k1');
    const [a, b] = await c.encode([plain(), plain()]);
    expect(Buffer.from(a!.data!).subarray(0, 12).equals(Buffer.from(b!.data!).subarray(0, 12))).toBe(false);
  });

  it('refuses a tampered ciphertext, tag or IV (GCM authentication)', async () => {
    const c = codec({ k1 }, 'k1');
    const [enc] = await c.encode([plain()]);
    const len = enc!.data!.length;
    for (const at of [0, 12, len - 20, len - 1]) {
      const data = Buffer.from(enc!.data!);
      data[at] = data[at]! ^ 0x01;
      await expect(c.decode([{ ...enc!, data }])).rejects.toThrow(/key id "k1" failed authentication/);
    }
  });

  it('refuses a payload relabelled to another configured key (the key id is authenticated)', async () => {
    const both = codec({ k1, k2 }, 'k1');
    const [enc] = await both.encode([plain()]);
    const relabelled = { ...enc!, metadata: { ...enc!.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await expect(both.decode([relabelled])).rejects.toThrow(/key id "k2" failed authentication/);
  });

  it('names an unknown key id, and a missing or truncated one', async () => {
    const [enc] = await codec({ k1 }, 'k1').encode([plain()]);
    const other = codec({ k2 }, 'k2');
    const err = await other.decode([enc!]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PayloadDecryptionError);
    expect((err as PayloadDecryptionError).keyId).toBe('k1');
    expect((err as Error).message).toBe(
      'payload encrypted under key id "k1", which is not configured (TEMPORAL_CODEC_KEYS has k2)',
    );
    const noId = { metadata: { encoding: enc!.metadata!['encoding']! }, data: enc!.data! };
    await expect(other.decode([noId])).rejects.toThrow(/without encryption-key-id/);
    const cut = { ...enc!, data: enc!.data!.subarray(0, 20) };
    await expect(codec({ k1 }, 'k1').decode([cut])).rejects.toThrow(/truncated/);
  });

  it('passes payloads without the encryption metadata through (histories from before the codec)', async () => {
    const p = plain();
    const [out] = await codec({ k1 }, 'k1').decode([p]);
    expect(out).toBe(p);
    const empty: Payload = { metadata: { encoding: Buffer.from('binary/null') } };
    expect((await codec({ k1 }, 'k1').decode([empty]))[0]).toBe(empty);
  });

  it('rotates: the new key encrypts, the old one still decrypts', async () => {
    const [old] = await codec({ k1 }, 'k1').encode([plain()]);
    const rotated = codec({ k1, k2 }, 'k2');
    const [fresh] = await rotated.encode([plain()]);
    expect(meta(fresh!, KEY_ID_METADATA)).toBe('k2');
    const decoded = await rotated.decode([old!, fresh!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([input, input]);
  });

  it('decrypts every encrypted payload of a history in proto3 JSON, wherever it is', async () => {
    const c = codec({ k1 }, 'k1');
    const [a, b] = await c.encode([plain(), defaultPayloadConverter.toPayload('refused: 871234567890123456')]);
    const j = (p: Payload) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data!).toString('base64'),
    });
    const untouched = j(plain());
    const history = {
      events: [
        { eventId: '1', workflowExecutionStartedEventAttributes: { input: { payloads: [j(a!)] } } },
        { eventId: '2', activityTaskFailedEventAttributes: { failure: { encodedAttributes: j(b!) } } },
        { eventId: '3', markerRecordedEventAttributes: { details: { x: { payloads: [untouched] } } } },
      ],
    };
    const out = await decodeHistoryJson(history, [c]);
    const text = JSON.stringify(out);
    expect(text).not.toContain(Buffer.from(ENCRYPTED_ENCODING).toString('base64'));
    const first = out.events[0]!.workflowExecutionStartedEventAttributes!.input.payloads[0]!;
    expect(JSON.parse(Buffer.from(first.data, 'base64').toString('utf8'))).toEqual(input);
    expect(out.events[2]!.markerRecordedEventAttributes!.details.x.payloads[0]).toEqual(untouched);
  });
});

describe('failure converter', () => {
  it('moves failure messages into the (encrypted) encoded attributes', () => {
    const cfg = loadConfig({ NODE_ENV: 'test' }).temporal.codec;
    const loaded = loadDataConverter(temporalDataConverter(cfg));
    const failure = loaded.failureConverter.errorToFailure(
      ApplicationFailure.create({ message: 'EAN 871234567890123456 is not yours' }),
      loaded.payloadConverter,
    );
    expect(failure.message).toBe('Encoded failure');
    expect(failure.encodedAttributes).toBeTruthy();
    const back = loaded.failureConverter.failureToError(failure, loaded.payloadConverter);
    expect(back.message).toBe('EAN 871234567890123456 is not yours');
  });
});

describe('codec configuration', () => {
  const key = (b: Buffer) => b.toString('base64');
  const load = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', ...env }).temporal.codec;

  it('reads keys and the encrypting key id; one key needs no id', () => {
    const c = load({ TEMPORAL_CODEC_KEYS: `a:${key(k1)}, b.2026:${key(k2)}`, TEMPORAL_CODEC_KEY_ID: 'b.2026' });
    expect([...c.keys.keys()]).toEqual(['a', 'b.2026']);
    expect(c.keys.get('a')!.equals(k1)).toBe(true);
    expect(c.encryptKeyId).toBe('b.2026');
    expect(c.source).toBe('configured');
    expect(load({ TEMPORAL_CODEC_KEYS: `a:${key(k1)}` }).encryptKeyId).toBe('a');
    expect(JSON.stringify(c)).not.toContain(key(k1)); // a logged config shows no key
  });

  it('uses the public development key only outside production', () => {
    const dev = load({});
    expect(dev.source).toBe('development');
    expect(dev.keys.get('dev')!.equals(DEV_CODEC_KEY)).toBe(true);
    expect(() =>
      loadConfig({ NODE_ENV: 'production', PUBLIC_URL: 'https://x.example', ACM_REPORT_EMAIL: 'a@b.example' }),
    ).toThrow(/TEMPORAL_CODEC_KEYS=.*required in production/);
    expect(() =>
      loadConfig({
        NODE_ENV: 'production',
        PUBLIC_URL: 'https://x.example',
        ACM_REPORT_EMAIL: 'a@b.example',
        TEMPORAL_CODEC_KEYS: `dev:${key(DEV_CODEC_KEY)}`,
      }),
    ).toThrow(/the development key is public/);
  });

  it.each([
    ['no id', `${key(k1)}`],
    ['short key', `a:${key(randomBytes(16))}`],
    ['not base64', `a:${'%'.repeat(44)}`],
    ['bad id', `a b:${key(k1)}`],
    ['twice', `a:${key(k1)},a:${key(k2)}`],
  ])('refuses %s without echoing the key', (_, value) => {
    const err = (() => {
      try {
        load({ TEMPORAL_CODEC_KEYS: value });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variable).toBe('TEMPORAL_CODEC_KEYS');
    expect((err as Error).message).not.toContain(key(k1));
    expect((err as Error).message).not.toContain(key(k2));
  });

  it('refuses an encrypting key id that is not listed, or missing among several', () => {
    expect(() => load({ TEMPORAL_CODEC_KEYS: `a:${key(k1)}`, TEMPORAL_CODEC_KEY_ID: 'b' })).toThrow(
      /TEMPORAL_CODEC_KEY_ID="b" — expected the id of the key that encrypts, one of a/,
    );
    expect(() => load({ TEMPORAL_CODEC_KEYS: `a:${key(k1)},b:${key(k2)}` })).toThrow(/TEMPORAL_CODEC_KEY_ID/);
    expect(() => load({ TEMPORAL_CODEC_KEY_ID: 'other' })).toThrow(/TEMPORAL_CODEC_KEY_ID/);
  });

  it('reads the UI origins for CORS', () => {
    expect(load({}).corsOrigins).toEqual(['http://localhost:8233', 'http://127.0.0.1:8233']);
    expect(load({ TEMPORAL_CODEC_CORS_ORIGINS: 'https://ui.example, http://localhost:8080' }).corsOrigins).toEqual([
      'https://ui.example',
      'http://localhost:8080',
    ]);
    expect(() => load({ TEMPORAL_CODEC_CORS_ORIGINS: 'https://ui.example/path' })).toThrow(
      /TEMPORAL_CODEC_CORS_ORIGINS/,
    );
  });
});
