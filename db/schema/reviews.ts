import { boolean, index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { parties } from './parties.js';
import { improvementReviews } from './cases.js';
import type { SignalClass } from '../../domain/review.js';

/**
 * GT-5: the signals behind a proposal, as they stood when the scan proposed it (a case or a supplier
 * report that did not become a case), with the grid operator that received each.
 */
export const reviewSignals = pgTable(
  'review_signals',
  {
    reviewId: uuid('review_id')
      .notNull()
      .references(() => improvementReviews.id),
    /** 'case' or 'supplier_report'. */
    kind: text('kind').$type<'case' | 'supplier_report'>().notNull(),
    signalId: uuid('signal_id').notNull(),
    reference: text('reference'),
    gridOperatorId: uuid('grid_operator_id')
      .notNull()
      .references(() => parties.id),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
    signalClass: text('signal_class').$type<SignalClass>(),
    status: text('status'),
  },
  (t) => [primaryKey({ columns: [t.reviewId, t.kind, t.signalId] })],
);

/** GT-5: one vote per grid operator of the review's electorate, cast and signed by a named case handler. */
export const reviewVotes = pgTable(
  'review_votes',
  {
    reviewId: uuid('review_id')
      .notNull()
      .references(() => improvementReviews.id),
    gridOperatorId: uuid('grid_operator_id')
      .notNull()
      .references(() => parties.id),
    agree: boolean('agree').notNull(),
    reason: text('reason').notNull(),
    votedBy: text('voted_by').notNull(),
    /** The signature: the key's recorded holder (never its label) and the key's role; voted_by names the key. */
    votedByName: text('voted_by_name').notNull(),
    votedByRole: text('voted_by_role'),
    votedAt: timestamp('voted_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.reviewId, t.gridOperatorId] }),
    index('review_votes_operator_idx').on(t.gridOperatorId),
  ],
);

export type ReviewSignal = typeof reviewSignals.$inferSelect;
export type ReviewVoteRow = typeof reviewVotes.$inferSelect;
