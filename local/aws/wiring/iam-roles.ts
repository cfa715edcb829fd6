/**
 * The IAM roles of a template (global: the STS module's table), with their trust and permission
 * policies, which the edge evaluates for the sessions of the functions and state machines that
 * use them.
 */

import { putRole, roles } from '../services/sts.ts';
import type { Json, Wiring } from './template.ts';

/** Each role with its trust and inline permission policies (managed policies are logged, not simulated). */
export function wireRoles(w: Wiring): void {
  const { world, accountId, loaded, removers, physical, attrs, resolve, byType } = w;
  for (const [logical, r] of byType('AWS::IAM::Role')) {
    const p = resolve(r.Properties ?? {});
    if (p.ManagedPolicyArns?.length)
      world.log(
        `wiring: ${logical}: managed policies are not simulated locally (${p.ManagedPolicyArns.join(', ')})`,
      );
    try {
      putRole(world, {
        accountId,
        roleName: physical[logical] as string,
        trustPolicy: p.AssumeRolePolicyDocument,
        policies: Object.fromEntries(
          ((p.Policies ?? []) as { PolicyName: string; PolicyDocument: Json }[]).map((x) => [
            x.PolicyName,
            x.PolicyDocument,
          ]),
        ),
      });
    } catch (err) {
      throw new Error(`template: role ${logical}: ${(err as Error).message}`);
    }
    const roleArn = attrs[logical]?.Arn as string;
    loaded.roles.push(roleArn);
    removers[logical] = () => {
      roles(world).delete(roleArn);
    };
  }
}
