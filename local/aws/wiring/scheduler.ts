/**
 * EventBridge Scheduler resources of a template: `AWS::Scheduler::ScheduleGroup` and
 * `AWS::Scheduler::Schedule`, created through the local Scheduler as CloudFormation would (the same
 * checks as CreateSchedule: a bad property fails the deployment naming it). CloudFormation gives
 * `StartDate` / `EndDate` as ISO 8601 text; the API takes epoch seconds.
 */
import {
  createScheduleGroup,
  deleteSchedule,
  deleteScheduleGroup,
  putSchedule,
} from '../services/scheduler.ts';
import type { Json, Wiring } from './template.ts';

/** A CloudFormation date property as the API's epoch seconds. */
function epochSeconds(v: Json, logical: string, property: string): number | undefined {
  if (v === undefined) return undefined;
  const ms = Date.parse(String(v));
  if (Number.isNaN(ms))
    throw new Error(`template: ${logical}: ${property} '${String(v)}' is not an ISO 8601 date`);
  return ms / 1000;
}

/** Groups first, then the schedules (whose targets and roles exist by now). */
export function wireSchedules(w: Wiring): void {
  const { world, accountId, region, removers, physical, resolve, byType } = w;
  for (const [logical] of byType('AWS::Scheduler::ScheduleGroup')) {
    const n = physical[logical] as string;
    try {
      createScheduleGroup(world, accountId, region, n);
    } catch (err) {
      throw new Error(`template: ${logical}: ${(err as Error).message}`);
    }
    removers[logical] = () => deleteScheduleGroup(world, accountId, region, n);
  }
  for (const [logical, r] of byType('AWS::Scheduler::Schedule')) {
    const p = resolve(r.Properties ?? {});
    const n = physical[logical] as string;
    const group = typeof p.GroupName === 'string' ? p.GroupName : 'default';
    const body: Record<string, unknown> = {
      ...p,
      Name: n,
      GroupName: group,
      StartDate: epochSeconds(p.StartDate, logical, 'StartDate'),
      EndDate: epochSeconds(p.EndDate, logical, 'EndDate'),
    };
    try {
      putSchedule(world, accountId, region, body, 'create');
    } catch (err) {
      throw new Error(`template: ${logical}: ${(err as Error).message}`);
    }
    removers[logical] = () => deleteSchedule(world, accountId, region, group, n);
  }
}
