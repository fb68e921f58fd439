/**
 * Messages and names of the GT-11 breach-assessment workflow, shared with the API and the activities.
 * Imported by workflow code, so: no Node built-ins, no I/O.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { BreachClock, BreachDecision, BreachTrigger } from '../domain/breach.js';
import type { SignedWith } from '../domain/visibility.js';

/** One assessment per case: the close and a handler's request start the same workflow. */
export const breachWorkflowId = (caseId: string) => `breach-assessment:${caseId}`;

export interface BreachWorkflowInput {
  caseId: string;
  trigger: BreachTrigger;
  /** When the operator became aware; absent: the case's close. */
  awareAt?: string;
}

export interface BreachDecisionInput extends BreachDecision {
  /** Audit actor (api-key:<id>), its role and the key holder's name. */
  actor: string;
  actorRole: string | null;
  actorPartyId: string | null;
  actorName: string | null;
  /** Issue 19: the step-up (a person) or the key holder (a key) it is signed with (absent in older histories). */
  signedWith?: SignedWith;
}

export interface BreachSnapshot {
  assessmentId: string | null;
  dueAt: string | null;
  clock: BreachClock;
  remindersSent: number;
  decided: boolean;
}

export const decideBreachUpdate = defineUpdate<BreachSnapshot, [BreachDecisionInput]>('decideBreach');
export const breachStateQuery = defineQuery<BreachSnapshot>('breachState');
