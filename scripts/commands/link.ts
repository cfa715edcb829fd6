/** `crosslink link ...` */
import { resolve } from 'node:path';
import { ValidationError } from '#core/errors.ts';
import { parseLinkRequest } from '#core/policy/request.ts';
import { type EvaluationContext, evaluatePolicy, type RouteInventory } from '#core/policy/rules.ts';
import type { Command } from '../cli/command.ts';
import { EXIT, UsageError } from '../cli/errors.ts';
import { identity } from '../cli/identities.ts';
import { readStructuredFile } from '../cli/io.ts';
import { policyPath, readPolicy } from '../cli/policy.ts';
import { table } from '../cli/table.ts';

const validate: Command = {
  noun: 'link',
  verb: 'validate',
  args: '<file>',
  summary: 'judge a link request (YAML or JSON) against the policy, offline',
  positionals: { min: 1, max: 1 },
  options: {
    policy: { type: 'string', description: 'policy file (default ./config/policy.yaml)' },
    inventory: {
      type: 'string',
      description: 'routes in use: {links: [{id, aws: {routes}, gcp: {routes}}], vpns: [{name, prefixes}]}',
    },
    side: {
      type: 'string',
      description: 'with --as: the cloud whose intake receives the request (default: the initiator)',
    },
  },
  async run(ctx) {
    const file = resolve(ctx.home, ctx.positionals[0] as string);
    const policy = await readPolicy(
      policyPath(ctx.home, ctx.options.policy as string | undefined, ctx.io.env),
    );
    const raw = await readStructuredFile(file);
    let request: ReturnType<typeof parseLinkRequest>;
    try {
      request = parseLinkRequest(raw);
    } catch (e) {
      if (e instanceof ValidationError) {
        for (const i of e.issues) ctx.io.err(`${ctx.positionals[0]}: ${i.path || '(root)'}: ${i.reason}`);
        return EXIT.usage;
      }
      throw e;
    }
    const evalCtx: EvaluationContext = {};
    if (typeof ctx.options.inventory === 'string') {
      evalCtx.inventory = (await readStructuredFile(
        resolve(ctx.home, ctx.options.inventory),
      )) as RouteInventory;
    }
    const sideOpt = ctx.options.side as string | undefined;
    if (sideOpt !== undefined && sideOpt !== 'aws' && sideOpt !== 'gcp')
      throw new UsageError(`--side must be aws or gcp, got "${sideOpt}"`);
    if (ctx.global.as) {
      const who = await identity(ctx.home, ctx.global.as);
      const side = sideOpt ?? request.initiator;
      const principal = side === 'aws' ? who.aws?.principalArn : who.gcp?.email;
      if (!principal)
        throw new UsageError(
          `--as ${who.name} has no ${side} identity; pass --side ${side === 'aws' ? 'gcp' : 'aws'}`,
        );
      evalCtx.requester = { principal, side };
    }
    const evaluation = evaluatePolicy(policy, request, evalCtx);
    if (ctx.global.json) {
      ctx.io.out(
        JSON.stringify(
          {
            accepted: evaluation.accepted,
            policyHash: evaluation.policyHash,
            decisions: evaluation.decisions,
          },
          null,
          2,
        ),
      );
    } else {
      for (const line of table(
        ['RULE', 'OK', 'MESSAGE'],
        evaluation.decisions.map((d) => [d.rule, d.ok ? 'yes' : 'NO', d.message]),
      )) {
        ctx.io.out(line);
      }
      ctx.io.out('');
      ctx.io.out(
        `${evaluation.accepted ? 'accepted' : 'refused'}  (policy ${evaluation.policyHash.slice(0, 12)})`,
      );
      if (!ctx.global.as) ctx.io.out('requester not checked: pass --as <identity> to check who may request');
    }
    return evaluation.accepted ? EXIT.ok : EXIT.refused;
  },
};

export const linkCommands: Command[] = [validate];
