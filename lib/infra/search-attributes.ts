/**
 * Custom search attributes the case workflows set and the API/tests query.
 *
 * One list shared by the dev server start-up (which registers them), the workflows (which upsert them
 * through the typed keys below) and the tests. Names and types must match what is registered in the
 * namespace; on Temporal Cloud register them once (`tcld namespace search-attributes add` or the UI).
 * Workflow-safe: imports only @temporalio/common.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  CaseStatus: SearchAttributeType.KEYWORD,
  PartyGln: SearchAttributeType.KEYWORD,
  GridOperatorGln: SearchAttributeType.KEYWORD,
  NextDeadline: SearchAttributeType.DATETIME,
  CaseKind: SearchAttributeType.KEYWORD,
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;
export type SearchAttributeKind = (typeof SEARCH_ATTRIBUTES)[SearchAttributeName];

export const SEARCH_ATTRIBUTE_NAMES = Object.keys(SEARCH_ATTRIBUTES) as SearchAttributeName[];

/** Typed keys for `upsertSearchAttributes` / `typedSearchAttributes` in workflows and clients. */
export const SA = {
  CaseStatus: defineSearchAttributeKey('CaseStatus', SearchAttributeType.KEYWORD),
  PartyGln: defineSearchAttributeKey('PartyGln', SearchAttributeType.KEYWORD),
  GridOperatorGln: defineSearchAttributeKey('GridOperatorGln', SearchAttributeType.KEYWORD),
  NextDeadline: defineSearchAttributeKey('NextDeadline', SearchAttributeType.DATETIME),
  CaseKind: defineSearchAttributeKey('CaseKind', SearchAttributeType.KEYWORD),
} as const;

/** CLI spelling of each type for `temporal server start-dev --search-attribute Name=Type`. */
const CLI_TYPE: Record<SearchAttributeKind, string> = { KEYWORD: 'Keyword', DATETIME: 'Datetime' };

export function searchAttributeCliArgs(): string[] {
  return SEARCH_ATTRIBUTE_NAMES.flatMap((name) => [
    '--search-attribute',
    `${name}=${CLI_TYPE[SEARCH_ATTRIBUTES[name]]}`,
  ]);
}
