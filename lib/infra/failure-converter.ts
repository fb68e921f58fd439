/**
 * The failure converter of every client, worker and workflow bundle (loaded by path: lib/infra/payload-codec.ts
 * failureConverterPath). `encodeCommonAttributes` moves a failure's message and stack trace into a payload, which the
 * payload codec then encrypts: a refusal or an activity error may quote a note, an EAN or an address, and Temporal
 * would otherwise keep it in clear. Temporal (and its UI without the codec endpoint) shows "Encoded failure" instead.
 * Failures recorded before (no encoded attributes) decode as they are. Workflow-safe: imports only @temporalio/common.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
