/**
 * Encrypted workflow payloads: a Temporal PayloadCodec (AES-256-GCM) on every client and worker, so workflow
 * inputs, results, Updates, signals, queries, memos and failure details (connection EANs, notes, reasons, contact
 * persons) reach Temporal — on Temporal Cloud a processor outside the operator — only as ciphertext.
 *
 * One encrypted payload: metadata `encoding: binary/encrypted`, `encryption-key-id: <id>`; data = 12-byte random IV
 * ‖ ciphertext of the whole original Payload (protobuf: its own metadata and data) ‖ 16-byte GCM tag. The key id is
 * the GCM additional data, so a payload relabelled to another key fails authentication as a tampered one does.
 *
 * Decoding passes every payload without `binary/encrypted` through unchanged: histories recorded before the codec
 * (test/workflows/histories, cases started before it was deployed) keep replaying and reading. Keys: config
 * `temporal.codec` (TEMPORAL_CODEC_KEYS, TEMPORAL_CODEC_KEY_ID); rotation: docs/operations.md, "Encrypted payloads".
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
// CommonJS without named exports Node's ESM loader can see: the default import is its module.exports.
import proto from '@temporalio/proto';
import type { CodecConfig } from '../config.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = proto.temporal.api.common.v1.Payload;
const utf8Encode = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const utf8Decode = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');

/** A payload this process cannot decrypt: its key is not configured, or it fails authentication. */
export class PayloadDecryptionError extends Error {
  constructor(
    message: string,
    readonly keyId: string | undefined,
  ) {
    super(message);
    this.name = 'PayloadDecryptionError';
  }
}

const text = (b: Uint8Array | null | undefined): string | undefined => (b ? utf8Decode(b) : undefined);

/** Whether a payload carries this codec's encryption (anything else passes through decoding unchanged). */
export function isEncrypted(p: Payload): boolean {
  return text(p.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;
}

export class AesGcmPayloadCodec implements PayloadCodec {
  private readonly encryptKey: Buffer;
  private readonly encryptKeyIdBytes: Uint8Array;

  constructor(private readonly cfg: Pick<CodecConfig, 'keys' | 'encryptKeyId'>) {
    const key = cfg.keys.get(cfg.encryptKeyId);
    if (key?.length !== 32) throw new Error(`payload codec: no 32-byte key for ${cfg.encryptKeyId}`);
    this.encryptKey = key;
    this.encryptKeyIdBytes = utf8Encode(cfg.encryptKeyId);
  }

  get encryptKeyId(): string {
    return this.cfg.encryptKeyId;
  }

  // Async for the interface; the work is synchronous (node:crypto, about a microsecond per payload: docs/benchmarks.md).
  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encryptOne(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decryptOne(p));
  }

  encryptOne(p: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.encryptKey, iv);
    cipher.setAAD(this.encryptKeyIdBytes);
    const plain = ProtoPayload.encode(p).finish();
    const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: {
        [METADATA_ENCODING_KEY]: utf8Encode(ENCRYPTED_ENCODING),
        [KEY_ID_METADATA]: this.encryptKeyIdBytes,
      },
      data: sealed,
    };
  }

  decryptOne(p: Payload): Payload {
    if (!isEncrypted(p)) return p; // recorded before the codec, or never encrypted: as it is
    const keyId = text(p.metadata?.[KEY_ID_METADATA]);
    if (keyId === undefined) throw new PayloadDecryptionError(`encrypted payload without ${KEY_ID_METADATA}`, keyId);
    const key = this.cfg.keys.get(keyId);
    if (!key)
      throw new PayloadDecryptionError(
        `payload encrypted under key id "${keyId}", which is not configured (TEMPORAL_CODEC_KEYS has ${[...this.cfg.keys.keys()].join(', ')})`,
        keyId,
      );
    const data = p.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new PayloadDecryptionError(`encrypted payload under key id "${keyId}" is truncated`, keyId);
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, IV_BYTES));
    decipher.setAAD(utf8Encode(keyId));
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(buf.subarray(IV_BYTES, buf.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new PayloadDecryptionError(
        `encrypted payload under key id "${keyId}" failed authentication (altered, or not made with this key)`,
        keyId,
      );
    }
    const inner = ProtoPayload.decode(plain);
    return { metadata: inner.metadata, data: inner.data };
  }
}

const codecs = new WeakMap<CodecConfig, AesGcmPayloadCodec>();

/** The codec of a configuration (one instance per config object). */
export function payloadCodec(cfg: CodecConfig): AesGcmPayloadCodec {
  let codec = codecs.get(cfg);
  if (!codec) codecs.set(cfg, (codec = new AesGcmPayloadCodec(cfg)));
  return codec;
}

/**
 * Failure messages and stack traces into an (encrypted) payload (lib/infra/failure-converter.ts): refusals and
 * activity errors may quote personal data. The file is loaded by path: the workflow bundle includes it too.
 */
export function failureConverterPath(): string {
  for (const candidate of ['./failure-converter.ts', './failure-converter.js']) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('lib/infra/failure-converter.(ts|js) not found');
}

/** The data converter of every Client and Worker (and of bundleWorkflowCode: its failureConverterPath). */
export function temporalDataConverter(cfg: CodecConfig): DataConverter {
  return { payloadCodecs: [payloadCodec(cfg)], failureConverterPath: failureConverterPath() };
}

type Json = Record<string, unknown>;
const ENCRYPTED_B64 = Buffer.from(ENCRYPTED_ENCODING).toString('base64');

/** A payload in proto3 JSON (base64 metadata values and data), as in historyToJSON and the remote codec protocol. */
export interface JsonPayload {
  metadata?: Record<string, string> | null;
  data?: string | null;
}

/** What the codec functions answer: every field present. */
export interface FullJsonPayload {
  metadata: Record<string, string>;
  data: string;
}

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): FullJsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

/** The remote codec protocol's decode/encode over JSON payloads (POST /codec/decode, /codec/encode). */
export async function decodeJsonPayloads(codec: PayloadCodec, payloads: JsonPayload[]): Promise<FullJsonPayload[]> {
  return (await codec.decode(payloads.map(fromJson))).map(toJson);
}

export async function encodeJsonPayloads(codec: PayloadCodec, payloads: JsonPayload[]): Promise<FullJsonPayload[]> {
  return (await codec.encode(payloads.map(fromJson))).map(toJson);
}

/**
 * Every encrypted payload in a history as proto3 JSON (historyToJSON) decrypted in place, wherever it sits (inputs,
 * results, Update arguments, failures' details and encoded attributes, memos, markers). The case-history export
 * and the compliance archive read histories through this; plain payloads are left as they are.
 */
export async function decodeHistoryJson<T>(history: T, codecList: readonly PayloadCodec[]): Promise<T> {
  if (codecList.length === 0) return history;
  const found: Json[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Json;
      const meta = o['metadata'] as Record<string, unknown> | undefined;
      if (meta && typeof meta === 'object' && meta[METADATA_ENCODING_KEY] === ENCRYPTED_B64) found.push(o);
      else Object.values(o).forEach(walk);
    }
  };
  walk(history);
  let payloads: Payload[] = found.map((o) => fromJson(o as JsonPayload));
  for (const codec of [...codecList].reverse()) payloads = await codec.decode(payloads);
  payloads.forEach((p, i) => {
    const o = found[i]!;
    const j = toJson(p);
    o['metadata'] = j.metadata;
    o['data'] = j.data;
  });
  return history;
}
