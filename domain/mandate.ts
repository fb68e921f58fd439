/**
 * The content of a mandate (DC-2) as lists and types: the domain owns them, db/schema stores them.
 * Pure: no I/O, importable by workflow code.
 */

/** Kinds of smart-meter data a P4 request can ask for. */
export const DATA_KINDS = ['monthly_registers', 'daily_registers', 'interval_data'] as const;
export type DataKind = (typeof DATA_KINDS)[number];

export const MANDATE_GRANTED_VIA = ['portal', 'signed_document'] as const;
export type MandateGrantedVia = (typeof MANDATE_GRANTED_VIA)[number];
/** DC-3: a mandate granted by someone other than the grid user stays pending until the grid user confirms. */
export const MANDATE_STATUSES = ['pending_confirmation', 'active', 'ended'] as const;
export type MandateStatus = (typeof MANDATE_STATUSES)[number];
/** DC-4: why access ended. */
export const MANDATE_END_REASONS = [
  'revoked_by_grid_user',
  'customer_switch',
  'party_not_admitted',
  'withdrawn_by_party',
] as const;
export type MandateEndReason = (typeof MANDATE_END_REASONS)[number];
