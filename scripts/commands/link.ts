/** `crosslink link ...` */
import { resolve } from 'node:path';
import type { Cloud } from '#core/envelope.ts';
import { NotFoundError, ValidationError } from '#core/errors.ts';
import { LINK_STATES } from '#core/link/model.ts';
import { canonicalHash } from '#core/policy/policy.ts';
import { type LinkRequest, parseLinkRequest } from '#core/policy/request.ts';
import { type EvaluationContext, evaluatePolicy, type RouteInventory } from '#core/policy/rules.ts';
import type { Command, CommandContext } from '../cli/command.ts';
import { EXIT, errorLines, exitCodeFor, InputFileError, UsageError } from '../cli/errors.ts';
import { identity } from '../cli/identities.ts';
import { bothIntakesKnown, type IntakeAccess, intakeFor, type LinkResource } from '../cli/intake-client.ts';
import { readStructuredFile } from '../cli/io.ts';
import { buildPlan, planLines, planReaders, pricingPath, readLive, readPricing } from '../cli/link-plan.ts';
import { bothSidesLines, mergeSides, showLines, stageLine, summary } from '../cli/link-show.ts';
import { DEFAULT_WAIT_MS, decisionWait, waitForLinkState } from '../cli/link-wait.ts';
import { policyPath, readPolicy } from '../cli/policy.ts';
import { progressLine } from '../cli/progress.ts';
import { table } from '../cli/table.ts';

/** Reads and checks a link request file; malformed fields are exit 2, one line each, naming the field. */
async function readRequest(ctx: CommandContext): Promise<{ request: LinkRequest; raw: unknown }> {
  const name = ctx.positionals[0] as string;
  const raw = await readStructuredFile(resolve(ctx.home, name));
  try {
    return { request: parseLinkRequest(raw), raw };
  } catch (e) {
    if (e instanceof ValidationError)
      throw new InputFileError(e.issues.map((i) => `${name}: ${i.path || '(root)'}: ${i.reason}`));
    throw e;
  }
}

const SIDE_OPTION = { type: 'string', description: 'whose intake: aws (default) or gcp' } as const;

function sideOption(ctx: CommandContext): Cloud | undefined {
  const side = ctx.options.side as string | undefined;
  if (side !== undefined && side !== 'aws' && side !== 'gcp')
    throw new UsageError(`--side must be aws or gcp, got "${side}"`);
  return side;
}

/** With --as: the identity's principal on `side`, for the policy's requester rule. */
async function requesterOf(
  ctx: CommandContext,
  request: LinkRequest,
): Promise<EvaluationContext['requester'] | undefined> {
  if (!ctx.global.as) return undefined;
  const who = await identity(ctx.home, ctx.global.as);
  const side = sideOption(ctx) ?? request.initiator;
  const principal = side === 'aws' ? who.aws?.principalArn : who.gcp?.email;
  if (!principal)
    throw new UsageError(
      `--as ${who.name} has no ${side} identity; pass --side ${side === 'aws' ? 'gcp' : 'aws'}`,
    );
  return { principal, side };
}

const validate: Command = {
  noun: 'link',
  verb: 'validate',
  args: '<file>',
  summary: 'judge a link request (YAML or JSON) against the policy, offline',
  example: 'crosslink link validate examples/link-request.yaml --as alice',
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
    const policy = await readPolicy(
      policyPath(ctx.home, ctx.options.policy as string | undefined, ctx.io.env),
    );
    const { request } = await readRequest(ctx);
    const evalCtx: EvaluationContext = {};
    if (typeof ctx.options.inventory === 'string') {
      evalCtx.inventory = (await readStructuredFile(
        resolve(ctx.home, ctx.options.inventory),
      )) as RouteInventory;
    }
    sideOption(ctx);
    const requester = await requesterOf(ctx, request);
    if (requester) evalCtx.requester = requester;
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

// ---- the intake verbs --------------------------------------------------------------------------------

const WAIT_HELP = '--wait [--timeout <duration>]';

/** Prints the link (JSON: the resource) after `--wait` if asked, which may end in exit 5 or 6. */
async function finish(
  ctx: CommandContext,
  access: IntakeAccess,
  link: LinkResource,
  until: string,
  said: string,
  done?: (link: LinkResource) => boolean,
): Promise<number> {
  let final = link;
  if (ctx.global.wait) {
    if (!ctx.global.json) ctx.io.out(`${said}; waiting for ${until}`);
    let printed = 0;
    const progress = progressLine(ctx.io, ctx.global.json, until);
    try {
      final = await waitForLinkState(access, link.id, {
        until,
        ...(done ? { done } : {}),
        timeoutMs: ctx.global.timeout ?? DEFAULT_WAIT_MS,
        // Every stage once, also those passed between two polls.
        onState: (l) => {
          progress.done();
          if (!ctx.global.json) for (const s of l.stages.slice(printed)) ctx.io.out(`  ${stageLine(s)}`);
          printed = l.stages.length;
        },
        onPoll: (l, waited) => progress.update(l, waited),
      });
    } finally {
      progress.done();
    }
  }
  if (ctx.global.json) ctx.io.out(JSON.stringify(final, null, 2));
  else ctx.io.out(ctx.global.wait ? summary(final) : `${said}: ${summary(final)}`);
  return EXIT.ok;
}

const request: Command = {
  noun: 'link',
  verb: 'request',
  args: `<file> [${WAIT_HELP}]`,
  summary: 'request a link through the intake (signed as --as); --wait for ACTIVE',
  example: 'crosslink link request examples/link-request.yaml --as alice --wait --timeout 2h',
  positionals: { min: 1, max: 1 },
  options: {
    side: { type: 'string', description: 'the cloud whose intake receives it (default: the initiator)' },
  },
  async run(ctx) {
    const { request: req } = await readRequest(ctx);
    const access = await intakeFor(ctx, sideOption(ctx) ?? req.initiator);
    // The same file gives the same key, so a retried request is the same link (for a day, per caller).
    const out = await access.client.request(req, `file-${canonicalHash(req)}`);
    return finish(ctx, access, out.link, 'ACTIVE', 'requested');
  },
};

function decisionCommand(decision: 'approve' | 'reject'): Command {
  return {
    noun: 'link',
    verb: decision,
    args: `<id> [--side aws|gcp] [--reason <text>] [${WAIT_HELP}]`,
    summary:
      decision === 'approve'
        ? 'approve a link, or its pending decommission, for one side (the caller is the approver); --wait for ACTIVE (DECOMMISSIONED)'
        : 'reject a link, or its pending decommission, for one side; --wait for REJECTED',
    example: `crosslink link ${decision} lk-01jgc000000000000000000001 --side gcp --as carol${decision === 'reject' ? " --reason 'no budget'" : ' --wait'}`,
    positionals: { min: 1, max: 1 },
    options: {
      side: SIDE_OPTION,
      reason: { type: 'string', description: 'why (kept with the approval and in the audit)' },
    },
    async run(ctx) {
      const access = await intakeFor(ctx, sideOption(ctx) ?? 'aws');
      const out = await access.client.decide(
        ctx.positionals[0] as string,
        decision,
        ctx.options.reason as string | undefined,
      );
      // --wait follows what the approval was for: the link, or its pending decommission.
      const w = decisionWait(decision, out.link);
      // Deciding again what is already decided is no error: it says so, and --wait still waits.
      const said = out.unchanged === undefined ? w.said : `already ${w.said}`;
      return finish(ctx, access, out.link, w.until, said, w.done);
    },
  };
}

const decommission: Command = {
  noun: 'link',
  verb: 'decommission',
  args: `<id> [--side aws|gcp] [--reason <text>] [${WAIT_HELP}]`,
  summary: 'take a link down (both halves deleted); --wait for DECOMMISSIONED',
  example: "crosslink link decommission lk-01jgc000000000000000000001 --reason 'moved to eu' --as alice",
  positionals: { min: 1, max: 1 },
  options: {
    side: SIDE_OPTION,
    reason: { type: 'string', description: 'why (kept in the audit)' },
  },
  async run(ctx) {
    const access = await intakeFor(ctx, sideOption(ctx) ?? 'aws');
    const out = await access.client.decommission(
      ctx.positionals[0] as string,
      ctx.options.reason as string | undefined,
    );
    return finish(ctx, access, out.link, 'DECOMMISSIONED', 'decommissioning');
  },
};

/**
 * Asks both intakes at once, each signed as the caller would be for that side alone. A side that
 * does not know the link, cannot be reached or refuses the caller is left out with a line on
 * stderr; when neither answers: exit 4 if both said not found, else the first other failure's exit.
 */
async function showBothSides(ctx: CommandContext, id: string): Promise<number> {
  const sides = ['aws', 'gcp'] as const;
  const answers = await Promise.allSettled(
    sides.map(async (side) => (await intakeFor(ctx, side)).client.get(id)),
  );
  const found: Partial<Record<Cloud, LinkResource>> = {};
  const failures: unknown[] = [];
  answers.forEach((a, i) => {
    const side = sides[i] as Cloud;
    if (a.status === 'fulfilled') found[side] = a.value;
    else {
      failures.push(a.reason);
      const why = a.reason instanceof NotFoundError ? 'does not know this link' : 'did not answer';
      ctx.io.err(`${side} side not shown: its intake ${why}: ${errorLines(a.reason).join('; ')}`);
    }
  });
  if (failures.length === sides.length)
    return exitCodeFor(failures.find((f) => !(f instanceof NotFoundError)) ?? failures[0]);
  const merged = mergeSides(found);
  if (ctx.global.json) ctx.io.out(JSON.stringify(merged, null, 2));
  else for (const l of bothSidesLines(merged)) ctx.io.out(l);
  return EXIT.ok;
}

const show: Command = {
  noun: 'link',
  verb: 'show',
  args: '<id> [--side aws|gcp]',
  summary:
    'one link: both sides merged (stages, the events between the clouds, approvals, audit), or one side with --side (--json: the link resource)',
  example: 'crosslink link show lk-01jgc000000000000000000001 --json',
  positionals: { min: 1, max: 1 },
  options: { side: { type: 'string', description: "only this side's record: aws or gcp (default: both)" } },
  async run(ctx) {
    const id = ctx.positionals[0] as string;
    const side = sideOption(ctx);
    if (side === undefined && (await bothIntakesKnown(ctx))) return showBothSides(ctx, id);
    const access = await intakeFor(ctx, side ?? 'aws');
    const link = await access.client.get(id);
    if (ctx.global.json) ctx.io.out(JSON.stringify(link, null, 2));
    else for (const l of showLines(link)) ctx.io.out(l);
    return EXIT.ok;
  },
};

const ls: Command = {
  noun: 'link',
  verb: 'ls',
  args: '[--state <state>] [--side aws|gcp]',
  summary: 'list links (every page), optionally of one state (--json: a list of link resources)',
  example: 'crosslink link ls --state ACTIVE',
  positionals: { min: 0, max: 0 },
  options: {
    state: { type: 'string', description: 'only links in this state (e.g. ACTIVE)' },
    side: SIDE_OPTION,
  },
  async run(ctx) {
    const state = ctx.options.state as string | undefined;
    if (state !== undefined && !(LINK_STATES as readonly string[]).includes(state))
      throw new UsageError(`--state must be one of ${LINK_STATES.join(', ')}, got "${state}"`);
    const access = await intakeFor(ctx, sideOption(ctx) ?? 'aws');
    const links = await access.client.listAll(state);
    if (ctx.global.json) {
      ctx.io.out(JSON.stringify(links, null, 2));
      return EXIT.ok;
    }
    if (links.length === 0) {
      ctx.io.out(ctx.options.state ? `no links in state ${ctx.options.state}` : 'no links');
      return EXIT.ok;
    }
    for (const l of table(
      ['ID', 'NAME', 'STATE', 'INITIATOR', 'AWS', 'GCP', 'SINCE'],
      links.map((k) => [
        k.id,
        k.name,
        k.state,
        k.initiator,
        k.halves.aws.state,
        k.halves.gcp.state,
        k.stages.at(-1)?.at ?? '',
      ]),
    ))
      ctx.io.out(l);
    return EXIT.ok;
  },
};

const plan: Command = {
  noun: 'link',
  verb: 'plan',
  args: '<file>',
  summary: 'what each side would create, live capacity, estimated hourly cost, policy verdict (reads only)',
  example: 'crosslink link plan examples/link-request.yaml --as alice',
  positionals: { min: 1, max: 1 },
  options: {
    policy: { type: 'string', description: 'policy file (default ./config/policy.yaml)' },
    pricing: { type: 'string', description: 'pricing table (default ./config/pricing.yaml)' },
    side: {
      type: 'string',
      description: 'with --as: the cloud whose intake would receive the request (default: the initiator)',
    },
  },
  async run(ctx) {
    const policy = await readPolicy(
      policyPath(ctx.home, ctx.options.policy as string | undefined, ctx.io.env),
    );
    const pricing = await readPricing(pricingPath(ctx.home, ctx.options.pricing as string | undefined));
    const { request: req } = await readRequest(ctx);
    sideOption(ctx);
    const requester = await requesterOf(ctx, req);
    const pair = policy.document.regionPairs.find(
      (p) => p.aws === req.aws.region && p.gcp === req.gcp.region,
    );
    // Without a region pair there is no environment or profile to ask about; the policy says why.
    const live = pair ? await readLive(await planReaders(ctx, req), req) : undefined;
    const result = buildPlan(policy, req, pricing, live, requester);
    if (ctx.global.json) ctx.io.out(JSON.stringify(result, null, 2));
    else for (const l of planLines(result)) ctx.io.out(l);
    return result.accepted ? EXIT.ok : EXIT.refused;
  },
};

export const linkCommands: Command[] = [
  validate,
  plan,
  request,
  decisionCommand('approve'),
  decisionCommand('reject'),
  show,
  ls,
  decommission,
];
