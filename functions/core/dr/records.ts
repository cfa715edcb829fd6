/**
 * Telling the signal log's records apart, apart from ./signal-log.ts (which validates them against
 * their schemas) so that the decider's code imports no schema compiler.
 */
import type { ControlRecord, DrRecord } from './signal-log.ts';

export function isControl(record: DrRecord): record is ControlRecord {
  return 'control' in record;
}
