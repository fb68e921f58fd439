/**
 * DC-9 retention purge activities: one-line adapters over services/retention/purge.ts, heartbeating after every
 * batch (a purge step runs up to BATCHES_PER_CALL batches; a dead worker is noticed within the heartbeat timeout).
 */
import { Context } from '@temporalio/activity';
import {
  eraseExpiredAuditDetails,
  purgeExpiredAccessRegister,
  purgeExpiredCases,
  purgeExpiredReadings,
  purgeExpiredSupplierReports,
  type OnBatch,
  type PurgeInput,
  type PurgeResult,
} from '../services/retention/purge.js';
import type { ActivityDeps } from './deps.js';

const heartbeat: OnBatch = (progress) => Context.current().heartbeat(progress);

export function retentionActivities({ db }: ActivityDeps) {
  return {
    purgeExpiredCases: (input: PurgeInput): Promise<PurgeResult> => purgeExpiredCases(db, input, heartbeat),
    purgeExpiredSupplierReports: (input: PurgeInput): Promise<PurgeResult> =>
      purgeExpiredSupplierReports(db, input, heartbeat),
    purgeExpiredAccessRegister: (input: PurgeInput): Promise<PurgeResult> =>
      purgeExpiredAccessRegister(db, input, heartbeat),
    purgeExpiredReadings: (input: PurgeInput): Promise<PurgeResult> => purgeExpiredReadings(db, input, heartbeat),
    eraseExpiredAuditDetails: (input: PurgeInput): Promise<PurgeResult> =>
      eraseExpiredAuditDetails(db, input, heartbeat),
  };
}
