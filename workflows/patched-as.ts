/**
 * Renaming a patch id (Temporal `patched`) without breaking the runs and histories that carry the old one.
 *
 * `patchedAs(id, ...formerIds)` is `patched(id) || patched(formerId) || …`, which works because of how the
 * SDK (@temporalio/workflow 1.24, internals.ts patchInternal) and core (patch_state_machine.rs) decide:
 * - not replaying: `patched(id)` is true and records a marker for `id` only; the former ids are never asked,
 *   so a new run's history names the behaviour, not the branch it came from;
 * - replaying a history recorded under a former id: `patched(id)` is false (no marker for it, and during
 *   replay that sends no command), then `patched(formerId)` is true and consumes that marker. It must be
 *   asked: core treats a non-deprecated marker that no `patched` call consumes as nondeterminism;
 * - replaying a history from before the patch: every call is false, as `patched` was.
 * A run that began under a former id and continues live on this code may, at a later call site, record
 * the new id's marker as well (a decision false during replay is not cached by the SDK); its answer is the
 * same (true), and on replay each marker is consumed in the workflow task it was recorded in.
 */
import { patched } from '@temporalio/workflow';

export function patchedAs(id: string, ...formerIds: string[]): boolean {
  return patched(id) || formerIds.some((former) => patched(former));
}
