/**
 * A simulated `gcloud` (the Gcloud port of scripts/deploy-gcp) over an in-memory Google project:
 * service accounts and the project IAM policy, Pub/Sub topics and subscriptions with their IAM
 * policies, Cloud Functions (2nd gen) with their Cloud Run invoker policy, log sinks, workflows,
 * scheduler jobs, log-based metrics and alert policies. Each command changes or reads that state with the JSON shapes
 * `--format=json` prints, and fails the way gcloud does: NOT_FOUND for a missing resource,
 * ALREADY_EXISTS, INVALID_ARGUMENT for immutable fields (a subscription's topic, a function's
 * trigger, a scheduler job's target type), `unrecognized arguments` for a flag the command does
 * not have (exit 2), and, as in the installed gcloud 528, no GA `monitoring policies` group.
 * Platform side effects are modelled too: `deployment-tool` label and LOG_EXECUTION_ID on
 * functions, an Eventarc subscription per topic-triggered function, the scheduler's User-Agent
 * header, the `_Default` / `_Required` sinks, a zero alert threshold dropped from the JSON, a log
 * metric's descriptor name and type filled in and its labels' default value type (STRING) dropped.
 * References are checked: an alert condition on `logging.googleapis.com/user/<m>` needs the log
 * metric `m` (and a percentile aligner when it is a distribution); a binding needs its member (a
 * service account of the project, a principal of a known workload identity pool), its custom role
 * (not deleted) and its resource (topic, subscription, KMS key). IAM: custom roles (`iam roles`),
 * conditional project bindings, KMS keys (`seedCryptoKey`) and pools (`seedPool`), made by others.
 * Other projects (`addProject`: network projects, each a GcloudSim of its own) answer the commands
 * whose `--project` (or `projects describe|*-iam-policy` argument) names them; a project nobody
 * added answers PERMISSION_DENIED. A sink's Pub/Sub destination must exist in whichever known
 * project it names; service accounts have IAM policies (`iam service-accounts *-iam-policy*`).
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { parseKeyValues } from '#deployment/gcloud-flags.ts';
import type { Gcloud, GcloudResult } from '#scripts/gcp-deploy/gcloud.ts';

type Labels = Record<string, string>;
interface Condition {
  expression: string;
  title: string;
  description?: string;
}
interface Binding {
  role: string;
  members: string[];
  condition?: Condition;
}
type Flags = Map<string, string>;
type Json = Record<string, unknown>;

class Fail extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

const GLOBAL = ['project', 'quiet', 'format'];

export interface GcloudSimOptions {
  project?: string;
  projectNumber?: string;
  /** Directory relative `--source` paths are read from (the deploy's cwd). */
  cwd?: string;
  /**
   * Whether a command of an API the project has not enabled fails (SERVICE_DISABLED), as on a new
   * project. Off by default: the project then behaves as one whose APIs someone enabled.
   */
  enforceApis?: boolean;
}

/** An AWS provider's attribute mapping when none is given (IAM's documented default). */
const AWS_DEFAULT_MAPPING: Readonly<Record<string, string>> = {
  'google.subject': 'assertion.arn',
  'attribute.aws_account': 'assertion.account',
  'attribute.aws_role':
    "assertion.arn.contains('assumed-role') ? assertion.arn.extract('{account_arn}assumed-role/') + 'assumed-role/' + assertion.arn.extract('assumed-role/{role_name}/') : assertion.arn",
  'attribute.aws_ec2_instance':
    "assertion.arn.extract('assumed-role/{role_and_session}').extract('/{session}')",
};

/** The API each command group calls (`projects` and `services` need none a new project lacks). */
const API_OF: [RegExp, string][] = [
  [/^pubsub /, 'pubsub.googleapis.com'],
  [/^functions /, 'cloudfunctions.googleapis.com'],
  [/^run /, 'run.googleapis.com'],
  [/^iam workload-identity-pools /, 'iam.googleapis.com'],
  [/^iam /, 'iam.googleapis.com'],
  [/^kms /, 'cloudkms.googleapis.com'],
  [/^firestore /, 'firestore.googleapis.com'],
  [/^logging /, 'logging.googleapis.com'],
  [/^workflows /, 'workflows.googleapis.com'],
  [/^scheduler /, 'cloudscheduler.googleapis.com'],
  [/^alpha monitoring /, 'monitoring.googleapis.com'],
];

export class GcloudSim implements Gcloud {
  readonly project: string;
  readonly projectNumber: string;
  readonly cwd: string;
  /** Every call, in order. */
  readonly calls: string[][] = [];
  iamPolicy: Binding[] = [];
  readonly accounts = new Map<string, Json>();
  readonly topics = new Map<string, { json: Json; policy: Binding[] }>();
  readonly subscriptions = new Map<string, { json: Json; policy: Binding[] }>();
  readonly functions = new Map<string, { json: Json; policy: Binding[] }>();
  readonly sinks = new Map<string, Json>();
  /** Log-based metrics by name, as `logging metrics list --format=json` shows them. */
  readonly logMetrics = new Map<string, Json>();
  readonly workflows = new Map<string, Json>();
  readonly jobs = new Map<string, Json>();
  readonly alerts = new Map<string, Json>();
  readonly accountPolicies = new Map<string, Binding[]>();
  /** Project custom roles by id, as `iam roles describe --format=json` shows them. */
  readonly customRoles = new Map<string, Json & { deleted?: boolean }>();
  /** Cloud KMS keys (`<location>/<ring>/<key>`) and their IAM policies; gcp.yml never creates keys. */
  readonly cryptoKeys = new Map<string, { json: Json; policy: Binding[]; publicPem?: string }>();
  /** Workload identity pools (global) by id, with their providers. */
  readonly pools = new Map<string, { json: Json; providers: Json[] }>();
  /** Enabled APIs (`services enable`), by service name. */
  readonly services = new Set<string>();
  /** The Firestore database `(default)`, once created, and its fields with a TTL policy. */
  firestore: Json | undefined;
  readonly ttlFields = new Map<string, Json>();
  /** Cloud KMS key rings (`<location>/<ring>`). */
  readonly keyRings = new Map<string, Json>();
  readonly enforceApis: boolean;
  /** Every project of this simulated organisation, by id (this one included). */
  #world = new Map<string, GcloudSim>([]);
  #seq = 0;
  #clock = Date.parse('2026-11-26T09:00:00Z');

  constructor(o: GcloudSimOptions = {}) {
    this.project = o.project ?? 'crosslink-test';
    this.projectNumber = o.projectNumber ?? '123456789012';
    this.cwd = o.cwd ?? process.cwd();
    this.enforceApis = o.enforceApis ?? false;
    this.#world.set(this.project, this);
    for (const name of ['_Default', '_Required'])
      this.sinks.set(name, {
        name,
        destination: `logging.googleapis.com/projects/${this.project}/locations/global/buckets/${name}`,
        filter:
          name === '_Required'
            ? 'LOG_ID("cloudaudit.googleapis.com/activity")'
            : 'NOT LOG_ID("cloudaudit.googleapis.com/activity")',
      });
  }

  /** Another project the same caller can reach (a network project); its commands go to `sim`. */
  addProject(sim: GcloudSim): GcloudSim {
    this.#world.set(sim.project, sim);
    sim.#world = this.#world;
    return sim;
  }

  /** A service account someone else made in this project (e.g. a network project's own). */
  seedAccount(email: string, displayName?: string): void {
    this.accounts.set(email, {
      name: `projects/${this.project}/serviceAccounts/${email}`,
      projectId: this.project,
      uniqueId: String(100000000000000000000n + BigInt(++this.#seq)),
      email,
      ...(displayName ? { displayName } : {}),
      etag: 'MDEwMjE5MjA=',
    });
  }

  /** A Cloud KMS key someone made (gcp.yml grants on keys, never creates them). */
  seedCryptoKey(location: string, keyRing: string, key: string): void {
    const name = `projects/${this.project}/locations/${location}/keyRings/${keyRing}/cryptoKeys/${key}`;
    this.keyRings.set(`${location}/${keyRing}`, {
      name: `projects/${this.project}/locations/${location}/keyRings/${keyRing}`,
    });
    this.cryptoKeys.set(`${location}/${keyRing}/${key}`, {
      json: { name, purpose: 'ASYMMETRIC_DECRYPT', createTime: new Date(this.#clock).toISOString() },
      policy: [],
    });
  }

  /**
   * A workload identity pool someone made, with an AWS provider `aws` trusting `awsAccountId` and
   * the AWS default attribute mapping (or `attributeMapping`).
   */
  seedPool(pool: string, awsAccountId: string, attributeMapping?: Record<string, string>): void {
    const name = `projects/${this.projectNumber}/locations/global/workloadIdentityPools/${pool}`;
    this.pools.set(pool, {
      json: { name, state: 'ACTIVE' },
      providers: [
        {
          name: `${name}/providers/aws`,
          state: 'ACTIVE',
          aws: { accountId: awsAccountId },
          attributeMapping: attributeMapping ?? { ...AWS_DEFAULT_MAPPING },
        },
      ],
    });
  }

  /** Calls that changed (or tried to change) the project: everything but list/describe/get-iam-policy. */
  mutations(): string[][] {
    return this.calls.filter((c) => !c.some((a) => ['list', 'describe', 'get-iam-policy'].includes(a)));
  }

  async run(args: readonly string[]): Promise<GcloudResult> {
    this.calls.push([...args]);
    const positional = args.filter((a) => !a.startsWith('--'));
    const target =
      positional[0] === 'projects'
        ? positional[2]
        : args.find((a) => a.startsWith('--project='))?.slice('--project='.length);
    const other = target !== undefined && target !== this.project ? this.#world.get(target) : undefined;
    if (other) return other.run(args);
    const positionals: string[] = [];
    const flags: Flags = new Map();
    for (const a of args) {
      if (a.startsWith('--')) {
        const eq = a.indexOf('=');
        if (eq < 0) flags.set(a.slice(2), 'true');
        else flags.set(a.slice(2, eq), a.slice(eq + 1));
      } else positionals.push(a);
    }
    const json = flags.get('format') === 'json';
    try {
      this.#apiMustBeEnabled(positionals);
      const value = this.#dispatch(positionals, flags);
      return {
        code: 0,
        stdout: json && value !== undefined ? `${JSON.stringify(value, null, 2)}\n` : '',
        stderr: '',
      };
    } catch (e) {
      if (e instanceof Fail) return { code: e.code, stdout: '', stderr: `${e.message}\n` };
      throw e;
    }
  }

  /** SERVICE_DISABLED for a command of an API this project has not enabled (`enforceApis`). */
  #apiMustBeEnabled(pos: string[]): void {
    if (!this.enforceApis) return;
    const line = `${pos.join(' ')} `;
    const api = API_OF.find(([re]) => re.test(line))?.[1];
    if (api && !this.services.has(api))
      throw new Fail(
        1,
        `ERROR: (gcloud.${pos.slice(0, 3).join('.')}) PERMISSION_DENIED: ${api} has not been used in project ${this.projectNumber} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/${api}/overview?project=${this.projectNumber} then retry. [SERVICE_DISABLED]`,
      );
  }

  #dispatch(pos: string[], flags: Flags): unknown {
    const cmd = (n: number) => pos.slice(0, n).join(' ');
    const P = this.project;
    const err = (command: string, text: string, code = 1) =>
      new Fail(code, `ERROR: (gcloud.${command.replaceAll(' ', '.')}) ${text}`);
    const allow = (command: string, names: string[]) => {
      const bad = [...flags.keys()].filter((k) => !names.includes(k) && !GLOBAL.includes(k));
      if (bad.length > 0)
        throw err(command, `unrecognized arguments: ${bad.map((b) => `--${b}`).join(' ')}`, 2);
      if (!command.startsWith('projects') && flags.get('project') !== P)
        throw err(
          command,
          `PERMISSION_DENIED: project ${flags.get('project') ?? '(unset)'} is not accessible`,
        );
    };
    const arg = (command: string, i: number) => {
      const v = pos[i];
      if (v === undefined) throw err(command, 'argument NAME: Must be specified.', 2);
      return v;
    };
    const notFound = (command: string, what: string) =>
      err(command, `NOT_FOUND: Resource not found (resource=${what}).`);
    const exists = (command: string, what: string) =>
      err(command, `ALREADY_EXISTS: Resource already exists in the project (resource=${what}).`);
    const invalid = (command: string, why: string) => err(command, `INVALID_ARGUMENT: ${why}`);
    const f = (k: string) => flags.get(k);
    /** `--env-vars-file`: a YAML map of strings, as gcloud reads it (a missing file or another value is refused). */
    const envVarsFile = (command: string, file: string): Labels => {
      if (!existsSync(file)) throw err(command, `argument --env-vars-file: Unable to read file [${file}]`, 2);
      const map = parse(readFileSync(file, 'utf8')) as unknown;
      if (typeof map !== 'object' || map === null || Array.isArray(map))
        throw err(command, 'argument --env-vars-file: Invalid YAML/JSON data: not a map', 2);
      for (const [k, v] of Object.entries(map))
        if (typeof v !== 'string')
          throw err(command, `argument --env-vars-file: the value of ${k} must be a string`, 2);
      return map as Labels;
    };
    const now = () => {
      this.#clock += 1000;
      return new Date(this.#clock).toISOString();
    };
    const accountMustExist = (command: string, email: string | undefined) => {
      if (email?.endsWith(`@${P}.iam.gserviceaccount.com`) && !this.accounts.has(email))
        throw invalid(command, `Service account ${email} does not exist.`);
    };
    const topicMustExist = (command: string, name: string) => {
      if (!this.topics.has(name)) throw notFound(command, `projects/${P}/topics/${name}`);
    };
    const labelsAfter = (have: Labels | undefined): Labels | undefined => {
      let l: Labels = f('clear-labels') ? {} : { ...have };
      for (const k of (f('remove-labels') ?? '').split(',').filter(Boolean)) delete l[k];
      if (f('update-labels')) l = { ...l, ...parseKeyValues(f('update-labels') as string) };
      if (f('labels')) l = parseKeyValues(f('labels') as string);
      return Object.keys(l).length > 0 ? l : undefined;
    };
    /** The member of a binding: a service account of this project must exist, a pool's principal too. */
    const memberMustExist = (command: string, member: string) => {
      accountMustExist(command, /^serviceAccount:(.+)$/.exec(member)?.[1]);
      if (/^principal(Set)?:/.test(member)) {
        const m =
          /^principal(?:Set)?:\/\/iam\.googleapis\.com\/projects\/(\d+)\/locations\/global\/workloadIdentityPools\/([a-z0-9-]+)\/(subject\/.+|group\/.+|attribute\.[a-z_][a-z0-9_]*\/.+|\*)$/.exec(
            member,
          );
        if (!m) throw invalid(command, `Invalid principal identifier ${member}.`);
        const owner = [...this.#world.values()].find((x) => x.projectNumber === m[1]);
        if (!owner?.pools.has(m[2] as string))
          throw invalid(
            command,
            `Workload identity pool projects/${m[1]}/locations/global/workloadIdentityPools/${m[2]} does not exist.`,
          );
      }
    };
    /** A custom role named by a binding must exist (and not be deleted) in its project. */
    const roleMustExist = (command: string, role: string) => {
      const m = /^projects\/([^/]+)\/roles\/(.+)$/.exec(role);
      if (!m) return;
      const r = this.#world.get(m[1] as string)?.customRoles.get(m[2] as string);
      if (!r || r.deleted)
        throw invalid(command, `Role (${role}) does not exist in the resource's hierarchy.`);
    };
    /** `--condition`: None, or `expression=...,title=...[,description=...]` where the resource allows conditions. */
    const conditionOf = (command: string, conditions: boolean): Condition | undefined => {
      const v = f('condition');
      if (v === undefined || v === 'None') return undefined;
      if (!conditions) throw err(command, 'unrecognized arguments: --condition', 2);
      const d = parseKeyValues(v);
      const extra = Object.keys(d).filter((k) => !['expression', 'title', 'description'].includes(k));
      if (extra.length > 0 || !d.expression || !d.title)
        throw err(
          command,
          'argument --condition: expression and title are required (description optional).',
          2,
        );
      return compact({
        expression: d.expression,
        title: d.title,
        description: d.description,
      }) as unknown as Condition;
    };
    const policyOps = (
      command: string,
      policy: Binding[] | undefined,
      what: string,
      op: string,
      o: { conditions?: boolean; flags?: string[] } = {},
    ) => {
      if (!policy) throw notFound(command, what);
      if (op === 'get-iam-policy') {
        allow(command, o.flags ?? ['region']);
        return policyJson(policy);
      }
      allow(command, ['member', 'role', ...(o.conditions ? ['condition'] : []), ...(o.flags ?? ['region'])]);
      const member = f('member') as string;
      const role = f('role') as string;
      if (!member || !role) throw err(command, 'argument --member --role: Must be specified.', 2);
      const condition = conditionOf(command, o.conditions ?? false);
      if (condition && /^roles\/(owner|editor|viewer)$/.test(role))
        throw invalid(command, `Conditions are not supported for basic roles (${role}).`);
      const same = (x: Binding) =>
        x.role === role &&
        (x.condition?.expression ?? '') === (condition?.expression ?? '') &&
        (x.condition?.title ?? '') === (condition?.title ?? '') &&
        (x.condition?.description ?? '') === (condition?.description ?? '');
      let b = policy.find(same);
      if (op.startsWith('add')) {
        memberMustExist(command, member);
        roleMustExist(command, role);
        if (!b) {
          b = compact({ role, members: [], condition }) as unknown as Binding;
          policy.push(b);
        }
        if (!b.members.includes(member)) b.members.push(member);
      } else {
        if (!b?.members.includes(member))
          throw err(command, 'Policy binding with the specified principal, role, and condition not found!');
        b.members = b.members.filter((m) => m !== member);
        if (b.members.length === 0) policy.splice(policy.indexOf(b), 1);
      }
      return policyJson(policy);
    };

    // Projects and their IAM policy.
    if (cmd(2) === 'projects describe') {
      allow(cmd(2), []);
      if (pos[2] !== P) throw notFound(cmd(2), `projects/${pos[2]}`);
      return { projectId: P, projectNumber: this.projectNumber, name: P, lifecycleState: 'ACTIVE' };
    }
    if (pos[0] === 'projects' && /iam-policy/.test(pos[1] ?? '')) {
      if (pos[2] !== P) throw notFound(cmd(2), `projects/${pos[2]}`);
      if (pos[1] !== 'get-iam-policy' && f('condition') === undefined)
        throw err(
          cmd(2),
          'Adding a binding without specifying a condition to a policy containing conditions is prohibited in non-interactive mode. Run the command again with `--condition=None`',
          2,
        );
      return policyOps(cmd(2), this.iamPolicy, `projects/${P}`, pos[1] as string, {
        conditions: true,
        flags: [],
      });
    }

    // Custom roles of this project (`--project`): deleting one marks it deleted (its id stays taken
    // until it is undeleted or purged); a deleted role cannot be updated or bound.
    if (cmd(2) === 'iam roles') {
      const c = cmd(3);
      const op = pos[2];
      if (op === 'list') {
        allow(c, ['show-deleted']);
        return [...this.customRoles.values()]
          .filter((r) => f('show-deleted') || !r.deleted)
          .map(({ includedPermissions: _, ...r }) => r);
      }
      const id = arg(c, 3);
      const full = `projects/${P}/roles/${id}`;
      const r = this.customRoles.get(id);
      const permissions = (list: string) => {
        const out = list.split(',').filter(Boolean);
        for (const perm of out)
          if (!/^[a-z][a-zA-Z0-9]*\.[a-zA-Z0-9]+\.[a-zA-Z0-9]+$/.test(perm))
            throw invalid(c, `Permission ${perm} is not valid.`);
        if (new Set(out).size !== out.length) throw invalid(c, 'Permissions must not repeat.');
        return out;
      };
      const stage = () => {
        const v = f('stage') ?? 'ALPHA';
        if (!['ALPHA', 'BETA', 'GA', 'DEPRECATED', 'DISABLED', 'EAP'].includes(v))
          throw err(c, `argument --stage: Invalid choice: '${v}'.`, 2);
        return v;
      };
      if (op === 'create') {
        allow(c, ['title', 'description', 'permissions', 'stage']);
        if (!/^[a-zA-Z0-9_.]{3,64}$/.test(id)) throw invalid(c, `The role id ${id} is invalid.`);
        if (r?.deleted)
          throw err(
            c,
            `FAILED_PRECONDITION: You can't create a role with role_id (${id}) where there is an existing role with that role_id in a deleted state.`,
          );
        if (r) throw exists(c, full);
        if (!f('permissions')) throw invalid(c, 'A custom role needs at least one permission.');
        const json = compact({
          name: full,
          title: f('title') ?? id,
          description: f('description'),
          includedPermissions: permissions(f('permissions') as string),
          stage: stage(),
          etag: 'BwYAbc=',
        });
        this.customRoles.set(id, json);
        return json;
      }
      if (!r) throw notFound(c, full);
      if (op === 'describe') {
        allow(c, []);
        return r;
      }
      if (op === 'update') {
        allow(c, ['title', 'description', 'permissions', 'add-permissions', 'remove-permissions', 'stage']);
        if (r.deleted) throw err(c, `FAILED_PRECONDITION: You can't update a deleted role (${full}).`);
        let perms = [...((r.includedPermissions as string[] | undefined) ?? [])];
        if (f('permissions') !== undefined) perms = permissions(f('permissions') as string);
        perms = [...perms, ...permissions(f('add-permissions') ?? '')].filter(
          (x) => !permissions(f('remove-permissions') ?? '').includes(x),
        );
        const json = compact({
          ...r,
          title: f('title') ?? r.title,
          description: f('description') ?? r.description,
          includedPermissions: [...new Set(perms)],
          stage: f('stage') !== undefined ? stage() : r.stage,
        });
        this.customRoles.set(id, json);
        return json;
      }
      if (op === 'delete' || op === 'undelete') {
        allow(c, []);
        if (op === 'delete' && r.deleted)
          throw err(c, `FAILED_PRECONDITION: The role ${full} is already deleted.`);
        if (op === 'undelete' && !r.deleted)
          throw err(c, `FAILED_PRECONDITION: The role ${full} is not deleted.`);
        const json = compact({ ...r, deleted: op === 'delete' ? true : undefined });
        this.customRoles.set(id, json);
        return json;
      }
    }

    // APIs (Service Usage).
    if (cmd(2) === 'services list') {
      allow(cmd(2), ['enabled']);
      return [...this.services].sort().map((name) => ({
        name: `projects/${this.projectNumber}/services/${name}`,
        config: { name },
        state: 'ENABLED',
      }));
    }
    if (cmd(2) === 'services enable') {
      allow(cmd(2), []);
      const names = pos.slice(2);
      if (names.length === 0) throw err(cmd(2), 'argument SERVICE: Must be specified.', 2);
      for (const n of names)
        if (!/^[a-z][a-z0-9-]*\.googleapis\.com$/.test(n))
          throw err(cmd(2), `NOT_FOUND: Service ${n} not found or permission denied.`);
      for (const n of names) this.services.add(n);
      return undefined;
    }

    // Firestore: the (default) database and TTL policies.
    if (cmd(3) === 'firestore databases describe' || cmd(3) === 'firestore databases create') {
      const c = cmd(3);
      if (f('database') !== '(default)') throw invalid(c, 'only the (default) database is simulated');
      if (pos[2] === 'describe') {
        allow(c, ['database']);
        if (!this.firestore) throw notFound(c, `projects/${P}/databases/(default)`);
        return this.firestore;
      }
      allow(c, ['database', 'location', 'type']);
      if (!f('location')) throw err(c, 'argument --location: Must be specified.', 2);
      if (this.firestore) throw exists(c, `projects/${P}/databases/(default)`);
      const type = f('type') === 'datastore-mode' ? 'DATASTORE_MODE' : 'FIRESTORE_NATIVE';
      this.firestore = {
        name: `projects/${P}/databases/(default)`,
        locationId: f('location'),
        type,
        createTime: now(),
      };
      return this.firestore;
    }
    if (cmd(4) === 'firestore fields ttls list' || cmd(4) === 'firestore fields ttls update') {
      const c = cmd(4);
      if (!this.firestore) throw notFound(c, `projects/${P}/databases/(default)`);
      if (pos[3] === 'list') {
        allow(c, ['database']);
        return [...this.ttlFields.values()];
      }
      allow(c, ['database', 'collection-group', 'enable-ttl', 'disable-ttl']);
      const field = arg(c, 4);
      const group = f('collection-group');
      if (!group) throw err(c, 'argument --collection-group: Must be specified.', 2);
      const name = `projects/${P}/databases/(default)/collectionGroups/${group}/fields/${field}`;
      if (f('enable-ttl')) this.ttlFields.set(name, { name, ttlConfig: { state: 'ACTIVE' } });
      else if (f('disable-ttl')) this.ttlFields.delete(name);
      else throw err(c, 'Exactly one of (--disable-ttl | --enable-ttl) must be specified.', 2);
      return this.ttlFields.get(name);
    }

    // A key version's public half (`--output-file`), from a key pair made for the key on first read.
    if (cmd(4) === 'kms keys versions get-public-key') {
      const c = cmd(4);
      allow(c, ['key', 'keyring', 'location', 'output-file']);
      const at = `${f('location')}/${f('keyring')}/${f('key')}`;
      const k = this.cryptoKeys.get(at);
      const full = `projects/${P}/locations/${f('location')}/keyRings/${f('keyring')}/cryptoKeys/${f('key')}/cryptoKeyVersions/${pos[4]}`;
      if (!k || pos[4] !== '1') throw notFound(c, full);
      if (k.json.purpose !== 'ASYMMETRIC_DECRYPT' && k.json.purpose !== 'ASYMMETRIC_SIGN')
        throw err(c, `FAILED_PRECONDITION: ${full} is not an asymmetric key.`);
      k.publicPem ??= generateKeyPairSync('rsa', { modulusLength: 2048 })
        .publicKey.export({ type: 'spki', format: 'pem' })
        .toString();
      const file = f('output-file');
      if (!file) throw err(c, 'argument --output-file: Must be specified.', 2);
      writeFileSync(resolve(this.cwd, file), k.publicPem);
      return undefined;
    }
    // A credential configuration file (gcloud writes it locally, calling no API).
    if (cmd(3) === 'iam workload-identity-pools create-cred-config') {
      const c = cmd(3);
      allow(c, ['aws', 'output-file', 'service-account', 'enable-imdsv2']);
      const audience = arg(c, 3);
      if (
        !/^projects\/\d+\/locations\/global\/workloadIdentityPools\/[a-z0-9-]+\/providers\/[a-z0-9-]+$/.test(
          audience,
        )
      )
        throw err(c, `argument AUDIENCE: must be a provider's full resource name, got ${audience}`, 2);
      if (!f('aws')) throw err(c, 'Exactly one of (--aws | --azure | --oidc...) must be specified.', 2);
      const file = f('output-file');
      if (!file) throw err(c, 'argument --output-file: Must be specified.', 2);
      writeFileSync(
        resolve(this.cwd, file),
        JSON.stringify({
          universe_domain: 'googleapis.com',
          type: 'external_account',
          audience: `//iam.googleapis.com/${audience}`,
          subject_token_type: 'urn:ietf:params:aws:token-type:aws4_request',
          token_url: 'https://sts.googleapis.com/v1/token',
          credential_source: {
            environment_id: 'aws1',
            region_url: 'http://169.254.169.254/latest/meta-data/placement/availability-zone',
            url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials',
            regional_cred_verification_url:
              'https://sts.{region}.amazonaws.com?Action=GetCallerIdentity&Version=2011-06-15',
          },
          ...(f('service-account')
            ? {
                service_account_impersonation_url: `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/${f('service-account')}:generateAccessToken`,
              }
            : {}),
        }),
      );
      return undefined;
    }

    // Cloud KMS key rings, and keys created (the keys' other commands are below).
    if (cmd(3) === 'kms keyrings describe' || cmd(3) === 'kms keyrings create') {
      const c = cmd(3);
      allow(c, ['location']);
      const ring = arg(c, 3);
      if (!f('location')) throw err(c, 'argument --location: Must be specified.', 2);
      const full = `projects/${P}/locations/${f('location')}/keyRings/${ring}`;
      const have = this.keyRings.get(`${f('location')}/${ring}`);
      if (pos[2] === 'describe') {
        if (!have) throw notFound(c, full);
        return have;
      }
      if (have) throw exists(c, full);
      const json = { name: full, createTime: now() };
      this.keyRings.set(`${f('location')}/${ring}`, json);
      return json;
    }
    if (cmd(3) === 'kms keys create') {
      const c = cmd(3);
      allow(c, ['keyring', 'location', 'purpose', 'default-algorithm', 'protection-level']);
      const key = arg(c, 3);
      const at = `${f('location')}/${f('keyring')}`;
      const full = `projects/${P}/locations/${f('location')}/keyRings/${f('keyring')}/cryptoKeys/${key}`;
      if (!this.keyRings.has(at))
        throw notFound(c, `projects/${P}/locations/${f('location')}/keyRings/${f('keyring')}`);
      if (this.cryptoKeys.has(`${at}/${key}`)) throw exists(c, full);
      const purposes: Record<string, string> = {
        'asymmetric-encryption': 'ASYMMETRIC_DECRYPT',
        'asymmetric-signing': 'ASYMMETRIC_SIGN',
        encryption: 'ENCRYPT_DECRYPT',
      };
      const purpose = purposes[f('purpose') ?? ''];
      if (!purpose) throw err(c, `argument --purpose: Invalid choice: '${f('purpose')}'.`, 2);
      if (purpose !== 'ENCRYPT_DECRYPT' && !f('default-algorithm'))
        throw err(c, '--default-algorithm needs to be specified when creating an asymmetric key.', 2);
      if (
        purpose === 'ASYMMETRIC_DECRYPT' &&
        !/^rsa-decrypt-oaep-(2048|3072|4096)-sha(256|512|1)$/.test(f('default-algorithm') ?? '')
      )
        throw invalid(c, `Algorithm ${f('default-algorithm')} is not valid for purpose ASYMMETRIC_DECRYPT.`);
      const json = {
        name: full,
        purpose,
        versionTemplate: {
          algorithm: (f('default-algorithm') ?? 'google-symmetric-encryption')
            .toUpperCase()
            .replaceAll('-', '_'),
          protectionLevel: (f('protection-level') ?? 'software').toUpperCase(),
        },
        createTime: now(),
      };
      this.cryptoKeys.set(`${at}/${key}`, { json, policy: [] });
      return json;
    }

    // Workload identity pools: created, and their AWS providers created or updated.
    if (cmd(3) === 'iam workload-identity-pools create') {
      const c = cmd(3);
      allow(c, ['location', 'display-name', 'description']);
      const pool = arg(c, 3);
      if (f('location') !== 'global') throw err(c, 'argument --location: must be global.', 2);
      if (!/^[a-z][a-z0-9-]{2,30}[a-z0-9]$/.test(pool)) throw invalid(c, `Invalid pool id ${pool}.`);
      if (this.pools.has(pool))
        throw exists(c, `projects/${this.projectNumber}/locations/global/workloadIdentityPools/${pool}`);
      const json = {
        name: `projects/${this.projectNumber}/locations/global/workloadIdentityPools/${pool}`,
        state: 'ACTIVE',
        ...(f('display-name') ? { displayName: f('display-name') } : {}),
      };
      this.pools.set(pool, { json, providers: [] });
      return json;
    }
    if (
      cmd(4) === 'iam workload-identity-pools providers create-aws' ||
      cmd(4) === 'iam workload-identity-pools providers update-aws'
    ) {
      const c = cmd(4);
      const op = pos[3];
      allow(c, [
        'workload-identity-pool',
        'location',
        'account-id',
        'attribute-condition',
        'attribute-mapping',
        'display-name',
      ]);
      const id = arg(c, 4);
      const pool = f('workload-identity-pool') ?? '';
      const j = this.pools.get(pool);
      if (!j) throw notFound(c, `projects/${P}/locations/global/workloadIdentityPools/${pool}`);
      const name = `${j.json.name}/providers/${id}`;
      const have = j.providers.find((p) => p.name === name);
      const condition = f('attribute-condition');
      // IAM checks the condition's CEL against the mapped attributes (a condition naming an
      // attribute the mapping does not set is refused).
      if (
        condition !== undefined &&
        !/^(attribute\.aws_role|attribute\.aws_account|google\.subject)\b/.test(condition)
      )
        throw invalid(
          c,
          `The attribute condition must reference one of the provider's mapped attributes: ${condition}`,
        );
      if (op === 'create-aws') {
        if (have) throw exists(c, name);
        if (!/^\d{12}$/.test(f('account-id') ?? ''))
          throw err(c, 'argument --account-id: Must be specified.', 2);
        const provider = {
          name,
          state: 'ACTIVE',
          aws: { accountId: f('account-id') },
          attributeMapping: f('attribute-mapping')
            ? parseKeyValues(f('attribute-mapping') as string)
            : { ...AWS_DEFAULT_MAPPING },
          ...(condition !== undefined ? { attributeCondition: condition } : {}),
        };
        j.providers.push(provider);
        return provider;
      }
      if (!have) throw notFound(c, name);
      if (condition !== undefined) have.attributeCondition = condition;
      if (f('account-id')) have.aws = { accountId: f('account-id') };
      return have;
    }

    // Workload identity pools and their providers: reads.
    if (cmd(3) === 'iam workload-identity-pools describe') {
      allow(cmd(3), ['location']);
      const pool = arg(cmd(3), 3);
      if (f('location') !== 'global') throw err(cmd(3), 'argument --location: must be global.', 2);
      const j = this.pools.get(pool);
      if (!j) throw notFound(cmd(3), `projects/${P}/locations/global/workloadIdentityPools/${pool}`);
      return j.json;
    }
    if (cmd(4) === 'iam workload-identity-pools providers list') {
      allow(cmd(4), ['workload-identity-pool', 'location']);
      const pool = f('workload-identity-pool') ?? '';
      const j = this.pools.get(pool);
      if (!j) throw notFound(cmd(4), `projects/${P}/locations/global/workloadIdentityPools/${pool}`);
      return j.providers;
    }

    // Cloud KMS keys (made outside gcp.yml) and their IAM policies.
    if (cmd(2) === 'kms keys') {
      const c = cmd(3);
      const op = pos[2] as string;
      const key = arg(c, 3);
      const full = `projects/${P}/locations/${f('location')}/keyRings/${f('keyring')}/cryptoKeys/${key}`;
      if (!f('keyring') || !f('location'))
        throw err(c, 'argument --keyring --location: Must be specified.', 2);
      const k = this.cryptoKeys.get(`${f('location')}/${f('keyring')}/${key}`);
      if (op.endsWith('iam-policy') || op.endsWith('iam-policy-binding'))
        return policyOps(c, k?.policy, full, op, { conditions: true, flags: ['keyring', 'location'] });
      if (op === 'describe') {
        allow(c, ['keyring', 'location']);
        if (!k) throw notFound(c, full);
        return k.json;
      }
    }

    // Service accounts.
    if (cmd(2) === 'iam service-accounts') {
      const c = cmd(3);
      const op = pos[2];
      if (op === 'list') {
        allow(c, []);
        return [...this.accounts.values()];
      }
      const id = arg(c, 3);
      if (op === 'create') {
        allow(c, ['display-name', 'description']);
        if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(id)) throw invalid(c, `invalid account id ${id}`);
        const email = `${id}@${P}.iam.gserviceaccount.com`;
        if (this.accounts.has(email)) throw exists(c, email);
        this.accounts.set(email, {
          name: `projects/${P}/serviceAccounts/${email}`,
          projectId: P,
          uniqueId: String(100000000000000000000n + BigInt(++this.#seq)),
          email,
          ...(f('display-name') ? { displayName: f('display-name') } : {}),
          ...(f('description') ? { description: f('description') } : {}),
          etag: 'MDEwMjE5MjA=',
        });
        return this.accounts.get(email);
      }
      const a = this.accounts.get(id);
      if (!a) throw notFound(c, `projects/${P}/serviceAccounts/${id}`);
      if (op?.endsWith('iam-policy') || op?.endsWith('iam-policy-binding')) {
        if (!this.accountPolicies.has(id)) this.accountPolicies.set(id, []);
        return policyOps(c, this.accountPolicies.get(id), `projects/${P}/serviceAccounts/${id}`, op);
      }
      if (op === 'describe') return a;
      if (op === 'update') {
        allow(c, ['display-name', 'description']);
        if (f('display-name') !== undefined) a.displayName = f('display-name');
        if (f('description') !== undefined) a.description = f('description');
        return a;
      }
      if (op === 'delete') {
        allow(c, []);
        this.accounts.delete(id);
        return undefined;
      }
    }

    // Pub/Sub topics.
    if (cmd(2) === 'pubsub topics') {
      const c = cmd(3);
      const op = pos[2];
      if (op === 'list') {
        allow(c, []);
        return [...this.topics.values()].map((t) => t.json);
      }
      const name = arg(c, 3);
      const full = `projects/${P}/topics/${name}`;
      const t = this.topics.get(name);
      if (op?.endsWith('iam-policy') || op?.endsWith('iam-policy-binding'))
        return policyOps(c, t?.policy, full, op);
      if (op === 'create') {
        allow(c, ['labels', 'message-retention-duration']);
        if (t) throw exists(c, full);
        this.topics.set(name, {
          json: compact({
            name: full,
            labels: labelsAfter(undefined),
            messageRetentionDuration: f('message-retention-duration'),
          }),
          policy: [],
        });
        return this.topics.get(name)?.json;
      }
      if (!t) throw notFound(c, full);
      if (op === 'describe') return t.json;
      if (op === 'update') {
        allow(c, [
          'update-labels',
          'remove-labels',
          'clear-labels',
          'message-retention-duration',
          'clear-message-retention-duration',
        ]);
        if (flags.size <= 2) throw err(c, 'Must specify at least one field to update.', 2);
        t.json = compact({
          ...t.json,
          labels: labelsAfter(t.json.labels as Labels),
          messageRetentionDuration: f('clear-message-retention-duration')
            ? undefined
            : (f('message-retention-duration') ?? t.json.messageRetentionDuration),
        });
        return t.json;
      }
      if (op === 'delete') {
        allow(c, []);
        this.topics.delete(name);
        for (const s of this.subscriptions.values())
          if (s.json.topic === full) s.json.topic = '_deleted-topic_';
        return undefined;
      }
    }

    // Pub/Sub subscriptions.
    if (cmd(2) === 'pubsub subscriptions') {
      const c = cmd(3);
      const op = pos[2];
      if (op === 'list') {
        allow(c, []);
        return [...this.subscriptions.values()].map((s) => s.json);
      }
      const name = arg(c, 3);
      const full = `projects/${P}/subscriptions/${name}`;
      const s = this.subscriptions.get(name);
      if (op?.endsWith('iam-policy') || op?.endsWith('iam-policy-binding'))
        return policyOps(c, s?.policy, full, op);
      const settings = [
        'ack-deadline',
        'push-endpoint',
        'push-auth-service-account',
        'push-auth-token-audience',
        'dead-letter-topic',
        'max-delivery-attempts',
        'min-retry-delay',
        'max-retry-delay',
      ];
      const apply = (json: Json): Json => {
        const out = { ...json };
        if (f('ack-deadline')) {
          const n = Number(f('ack-deadline'));
          if (!(n >= 10 && n <= 600))
            throw invalid(c, 'The ack deadline must be between 10 and 600 seconds.');
          out.ackDeadlineSeconds = n;
        }
        if (f('push-endpoint') !== undefined) {
          const endpoint = f('push-endpoint') as string;
          accountMustExist(c, f('push-auth-service-account'));
          out.pushConfig =
            endpoint === ''
              ? {}
              : compact({
                  pushEndpoint: endpoint,
                  oidcToken: f('push-auth-service-account')
                    ? {
                        serviceAccountEmail: f('push-auth-service-account'),
                        audience: f('push-auth-token-audience') ?? endpoint,
                      }
                    : undefined,
                });
        }
        if (f('clear-dead-letter-policy')) delete out.deadLetterPolicy;
        if (f('dead-letter-topic')) {
          topicMustExist(c, f('dead-letter-topic') as string);
          const max = Number(f('max-delivery-attempts') ?? 5);
          if (!(max >= 5 && max <= 100)) throw invalid(c, 'max-delivery-attempts must be between 5 and 100.');
          out.deadLetterPolicy = {
            deadLetterTopic: `projects/${P}/topics/${f('dead-letter-topic')}`,
            maxDeliveryAttempts: max,
          };
        } else if (f('max-delivery-attempts'))
          throw err(c, '--dead-letter-topic must be specified with --max-delivery-attempts', 2);
        if (f('clear-retry-policy')) delete out.retryPolicy;
        if (f('min-retry-delay') || f('max-retry-delay'))
          out.retryPolicy = {
            minimumBackoff: f('min-retry-delay') ?? '10s',
            maximumBackoff: f('max-retry-delay') ?? '600s',
          };
        const labels = labelsAfter(json.labels as Labels);
        if (labels) out.labels = labels;
        else delete out.labels;
        return out;
      };
      if (op === 'create') {
        allow(c, ['topic', 'labels', ...settings]);
        if (s) throw exists(c, full);
        const topic = f('topic');
        if (!topic) throw err(c, 'argument --topic: Must be specified.', 2);
        topicMustExist(c, topic);
        const json = apply({
          name: full,
          topic: `projects/${P}/topics/${topic}`,
          pushConfig: {},
          ackDeadlineSeconds: 10,
          messageRetentionDuration: '604800s',
          expirationPolicy: { ttl: '2678400s' },
          state: 'ACTIVE',
        });
        this.subscriptions.set(name, { json, policy: [] });
        return json;
      }
      if (!s) throw notFound(c, full);
      if (op === 'describe') return s.json;
      if (op === 'update') {
        allow(c, [
          ...settings,
          'clear-dead-letter-policy',
          'clear-retry-policy',
          'update-labels',
          'remove-labels',
          'clear-labels',
        ]);
        s.json = apply(s.json);
        return s.json;
      }
      if (op === 'modify-push-config') {
        allow(c, ['push-endpoint', 'push-auth-service-account', 'push-auth-token-audience']);
        s.json = apply(s.json);
        return undefined;
      }
      if (op === 'delete') {
        allow(c, []);
        this.subscriptions.delete(name);
        return undefined;
      }
    }

    // Cloud Functions (2nd gen) and their Cloud Run invoker policy.
    if (pos[0] === 'run' && pos[1] === 'services' && pos[2] === 'get-iam-policy') {
      allow(cmd(3), ['region']);
      const fn = this.functions.get(arg(cmd(3), 3));
      // A function is found in its own region only.
      if (!fn || !String(fn.json.name).includes(`/locations/${f('region')}/`))
        throw notFound(cmd(3), `namespaces/${P}/services/${pos[3]}`);
      return policyJson(fn.policy);
    }
    if (pos[0] === 'functions') {
      const op = pos[1];
      const c = cmd(2);
      if (op === 'list') {
        allow(c, ['regions', 'v2']);
        const regions = (f('regions') ?? '').split(',').filter(Boolean);
        return [...this.functions.values()]
          .map((x) => x.json)
          .filter(
            (j) => regions.length === 0 || regions.some((r) => String(j.name).includes(`/locations/${r}/`)),
          );
      }
      const name = arg(c, 2);
      const region = f('region');
      const full = `projects/${P}/locations/${region}/functions/${name}`;
      // One function per name here (gcp.yml's names are unique), found in its own region only.
      const named = this.functions.get(name);
      if (named && op === 'deploy' && named.json.name !== full)
        throw invalid(c, `the simulator keeps one function named ${name}, in ${named.json.name}`);
      const fn = named && named.json.name === full ? named : undefined;
      if (op === 'add-invoker-policy-binding' || op === 'remove-invoker-policy-binding') {
        flags.set('role', 'roles/run.invoker');
        return policyOps(c, fn?.policy, full, op);
      }
      if (op === 'deploy') {
        allow(c, [
          'gen2',
          'region',
          'runtime',
          'source',
          'entry-point',
          'trigger-http',
          'allow-unauthenticated',
          'no-allow-unauthenticated',
          'trigger-topic',
          'trigger-event-filters',
          'trigger-service-account',
          'retry',
          'no-retry',
          'service-account',
          'ingress-settings',
          'memory',
          'timeout',
          'max-instances',
          'concurrency',
          'set-env-vars',
          'env-vars-file',
          'clear-env-vars',
          'update-env-vars',
          'update-labels',
          'remove-labels',
          'clear-labels',
        ]);
        if (!region) throw err(c, 'argument --region: Must be specified.', 2);
        const source = f('source');
        if (!source || !existsSync(resolve(this.cwd, source, 'package.json')))
          throw invalid(c, `--source ${source}: a Node.js source directory needs a package.json`);
        const previous = fn?.json;
        if (!previous && !f('runtime'))
          throw invalid(c, '--runtime is required when deploying a new function');
        const topic = f('trigger-topic');
        const events = f('trigger-event-filters');
        let eventTrigger: Json | undefined;
        if (topic) {
          topicMustExist(c, topic);
          eventTrigger = {
            eventType: 'google.cloud.pubsub.topic.v1.messagePublished',
            pubsubTopic: `projects/${P}/topics/${topic}`,
          };
        } else if (events) {
          const filters = parseKeyValues(events);
          eventTrigger = {
            eventType: filters.type,
            eventFilters: Object.entries(filters)
              .filter(([k]) => k !== 'type')
              .map(([attribute, value]) => ({ attribute, value })),
          };
        } else if (!f('trigger-http') && !previous)
          throw invalid(
            c,
            'a new function needs a trigger (--trigger-http, --trigger-topic or --trigger-event-filters)',
          );
        if (previous) {
          const was = previous.eventTrigger as Json | undefined;
          const now_ = eventTrigger ?? (f('trigger-http') ? undefined : was);
          if (
            (was === undefined) !== (now_ === undefined) ||
            (was && now_ && (was.pubsubTopic !== now_.pubsubTopic || was.eventType !== now_.eventType))
          )
            throw invalid(c, `Function ${full}: the trigger of an existing function cannot be changed.`);
        }
        if (eventTrigger) {
          accountMustExist(c, f('trigger-service-account'));
          eventTrigger = compact({
            ...eventTrigger,
            trigger: `projects/${P}/locations/${region}/triggers/${name}-${this.#seq}`,
            triggerRegion: region,
            serviceAccountEmail: f('trigger-service-account'),
            retryPolicy: f('retry') ? 'RETRY_POLICY_RETRY' : 'RETRY_POLICY_DO_NOT_RETRY',
          });
        } else if (previous?.eventTrigger) eventTrigger = previous.eventTrigger as Json;
        accountMustExist(c, f('service-account'));
        const prevService = (previous?.serviceConfig ?? {}) as Json;
        let env: Labels = f('clear-env-vars')
          ? {}
          : { ...((prevService.environmentVariables as Labels) ?? {}) };
        if (f('set-env-vars')) env = parseKeyValues(f('set-env-vars') as string);
        if (f('env-vars-file')) env = envVarsFile(c, resolve(this.cwd, f('env-vars-file') as string));
        if (f('update-env-vars')) env = { ...env, ...parseKeyValues(f('update-env-vars') as string) };
        env.LOG_EXECUTION_ID = 'true';
        const ingress = {
          all: 'ALLOW_ALL',
          'internal-only': 'ALLOW_INTERNAL_ONLY',
          'internal-and-gclb': 'ALLOW_INTERNAL_AND_GCLB',
        }[f('ingress-settings') ?? 'all'];
        const timeout = f('timeout')
          ? Number.parseInt(f('timeout') as string, 10)
          : ((prevService.timeoutSeconds as number) ?? 60);
        const count = (flag: string, had: unknown, byDefault: number): number => {
          const v = f(flag);
          if (v === undefined) return (had as number | undefined) ?? byDefault;
          if (!/^\d+$/.test(v) || Number(v) < 1)
            throw invalid(c, `--${flag}: must be a positive integer, not '${v}'`);
          return Number(v);
        };
        const maxInstanceCount = count('max-instances', prevService.maxInstanceCount, 100);
        const maxInstanceRequestConcurrency = count(
          'concurrency',
          prevService.maxInstanceRequestConcurrency,
          1,
        );
        const build = (previous?.buildConfig ?? {}) as Json;
        const json = compact({
          name: full,
          environment: 'GEN_2',
          state: 'ACTIVE',
          url: `https://${region}-${P}.cloudfunctions.net/${name}`,
          updateTime: now(),
          labels: { ...labelsAfter(previous?.labels as Labels), 'deployment-tool': 'cli-gcloud' },
          buildConfig: {
            runtime: f('runtime') ?? build.runtime,
            entryPoint: f('entry-point') ?? build.entryPoint ?? name,
            source: {
              storageSource: {
                bucket: `gcf-v2-sources-${this.projectNumber}-${region}`,
                object: `${name}/function-source.zip`,
              },
            },
          },
          serviceConfig: {
            service: `projects/${P}/locations/${region}/services/${name}`,
            uri: `https://${name}-x7k2q9-uk.a.run.app`,
            serviceAccountEmail:
              f('service-account') ??
              prevService.serviceAccountEmail ??
              `${this.projectNumber}-compute@developer.gserviceaccount.com`,
            environmentVariables: env,
            availableMemory: f('memory') ?? prevService.availableMemory ?? '256M',
            timeoutSeconds: timeout,
            ingressSettings: ingress,
            maxInstanceCount,
            maxInstanceRequestConcurrency,
          },
          eventTrigger,
        });
        this.functions.set(name, { json, policy: fn?.policy ?? [] });
        // Eventarc makes its own (unlabelled) push subscription on the trigger's topic.
        if (topic && !fn) {
          const sub = `eventarc-${region}-${name}-${this.#seq}-sub-${this.#seq}`;
          this.subscriptions.set(sub, {
            json: {
              name: `projects/${P}/subscriptions/${sub}`,
              topic: `projects/${P}/topics/${topic}`,
              pushConfig: { pushEndpoint: `https://${name}-x7k2q9-uk.a.run.app` },
              ackDeadlineSeconds: 600,
              state: 'ACTIVE',
            },
            policy: [],
          });
        }
        return json;
      }
      if (!fn) throw notFound(c, full);
      if (op === 'describe') {
        allow(c, ['region', 'v2']);
        return fn.json;
      }
      if (op === 'delete') {
        allow(c, ['region']);
        this.functions.delete(name);
        for (const k of [...this.subscriptions.keys()])
          if (k.startsWith(`eventarc-${region}-${name}-`)) this.subscriptions.delete(k);
        return undefined;
      }
    }

    // Log sinks.
    if (cmd(2) === 'logging sinks') {
      const c = cmd(3);
      const op = pos[2];
      if (op === 'list') {
        allow(c, []);
        return [...this.sinks.values()];
      }
      const name = arg(c, 3);
      const sink = this.sinks.get(name);
      const destination = pos[4];
      const checkDestination = () => {
        const t = /^pubsub\.googleapis\.com\/projects\/([^/]+)\/topics\/([^/]+)$/.exec(destination ?? '');
        if (!t) throw invalid(c, `unsupported destination ${destination}`);
        const owner = this.#world.get(t[1] as string);
        if (owner && !owner.topics.has(t[2] as string)) throw notFound(c, `projects/${t[1]}/topics/${t[2]}`);
      };
      if (op === 'create') {
        allow(c, ['log-filter', 'description']);
        if (sink) throw exists(c, `projects/${P}/sinks/${name}`);
        checkDestination();
        const json = compact({
          name,
          destination,
          filter: f('log-filter'),
          description: f('description'),
          writerIdentity: `serviceAccount:service-${this.projectNumber}@gcp-sa-logging.iam.gserviceaccount.com`,
          createTime: now(),
        });
        this.sinks.set(name, json);
        return json;
      }
      if (!sink) throw notFound(c, `projects/${P}/sinks/${name}`);
      if (op === 'describe') return sink;
      if (op === 'update') {
        allow(c, ['log-filter', 'description']);
        if (destination !== undefined) {
          checkDestination();
          sink.destination = destination;
        }
        if (f('log-filter') !== undefined) sink.filter = f('log-filter');
        if (f('description') !== undefined) sink.description = f('description');
        sink.updateTime = now();
        return sink;
      }
      if (op === 'delete') {
        allow(c, []);
        if (name.startsWith('_')) throw invalid(c, `sink ${name} cannot be deleted`);
        this.sinks.delete(name);
        return undefined;
      }
    }

    // Log-based metrics (LogMetric, projects.metrics).
    if (cmd(2) === 'logging metrics') {
      const c = cmd(3);
      const op = pos[2];
      if (op === 'list') {
        allow(c, []);
        return [...this.logMetrics.values()];
      }
      const name = arg(c, 3);
      const full = `projects/${P}/metrics/${name}`;
      const have = this.logMetrics.get(name);
      const fromFlags = (): Json => {
        const path = f('config-from-file');
        if (path !== undefined) {
          if (f('description') !== undefined || f('log-filter') !== undefined)
            throw err(
              c,
              'argument --config-from-file: At most one of --config-from-file | --description --log-filter may be specified.',
              2,
            );
          const file = resolve(this.cwd, path);
          if (!existsSync(file)) throw err(c, `Unable to read file [${path}]: no such file`, 1);
          try {
            return parse(readFileSync(file, 'utf8')) as Json;
          } catch (e) {
            throw invalid(c, `config file is not YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
          }
        }
        return compact({
          ...(have ?? {}),
          description: f('description') ?? have?.description,
          filter: f('log-filter') ?? have?.filter,
        });
      };
      const stored = (m: Json, created: string): Json => {
        if (typeof m.filter !== 'string' || m.filter === '') throw invalid(c, 'filter: a filter is required');
        const d = (m.metricDescriptor as Json | undefined) ?? {};
        const kind = (d.metricKind as string | undefined) ?? 'DELTA';
        const valueType = (d.valueType as string | undefined) ?? 'INT64';
        if (kind !== 'DELTA')
          throw invalid(c, `metricDescriptor.metricKind: logs-based metrics are DELTA, not ${kind}`);
        if (!['INT64', 'DISTRIBUTION'].includes(valueType))
          throw invalid(
            c,
            `metricDescriptor.valueType: ${valueType} is not supported for a logs-based metric`,
          );
        if (valueType === 'DISTRIBUTION' && (!m.valueExtractor || !m.bucketOptions))
          throw invalid(c, 'a DISTRIBUTION metric needs valueExtractor and bucketOptions');
        const labels = ((d.labels as Json[] | undefined) ?? []).map((l) => l.key as string);
        const extractors = Object.keys((m.labelExtractors as Labels | undefined) ?? {});
        const unmatched = [
          ...labels.filter((k) => !extractors.includes(k)),
          ...extractors.filter((k) => !labels.includes(k)),
        ];
        if (unmatched.length > 0)
          throw invalid(c, `labelExtractors and metricDescriptor.labels differ on ${unmatched.join(', ')}`);
        const type = `logging.googleapis.com/user/${name}`;
        return compact({
          name,
          description: m.description,
          filter: m.filter,
          metricDescriptor: compact({
            name: `projects/${P}/metricDescriptors/${type}`,
            type,
            metricKind: kind,
            valueType,
            unit: (d.unit as string | undefined) ?? '1',
            displayName: d.displayName,
            description: m.description,
            // proto3 JSON leaves out a field at its default: a STRING label has no valueType.
            labels: d.labels
              ? (d.labels as Json[]).map((l) =>
                  compact({ ...l, valueType: l.valueType === 'STRING' ? undefined : l.valueType }),
                )
              : undefined,
          }),
          valueExtractor: m.valueExtractor,
          labelExtractors: m.labelExtractors,
          bucketOptions: m.bucketOptions,
          createTime: created,
          updateTime: now(),
        });
      };
      if (op === 'create') {
        allow(c, ['config-from-file', 'description', 'log-filter']);
        if (have) throw exists(c, full);
        const json = stored(fromFlags(), now());
        this.logMetrics.set(name, json);
        return json;
      }
      if (!have) throw notFound(c, full);
      if (op === 'describe') {
        allow(c, []);
        return have;
      }
      if (op === 'update') {
        allow(c, ['config-from-file', 'description', 'log-filter']);
        const json = stored(fromFlags(), have.createTime as string);
        const kindOf = (x: Json) =>
          JSON.stringify([(x.metricDescriptor as Json).metricKind, (x.metricDescriptor as Json).valueType]);
        if (kindOf(json) !== kindOf(have))
          throw invalid(
            c,
            `metric ${name}: the metric kind and value type of a logs-based metric cannot be changed`,
          );
        this.logMetrics.set(name, json);
        return json;
      }
      if (op === 'delete') {
        allow(c, []);
        this.logMetrics.delete(name);
        return undefined;
      }
    }

    // Workflows.
    if (pos[0] === 'workflows') {
      const op = pos[1];
      const c = cmd(2);
      if (op === 'list') {
        allow(c, ['location']);
        // The list view leaves the source out.
        return [...this.workflows.values()].map(({ sourceContents: _, ...w }) => w);
      }
      const name = arg(c, 2);
      const full = `projects/${P}/locations/${f('location')}/workflows/${name}`;
      const w = this.workflows.get(name);
      if (op === 'deploy') {
        allow(c, [
          'location',
          'source',
          'service-account',
          'labels',
          'set-env-vars',
          'clear-env-vars',
          'description',
        ]);
        const file = resolve(this.cwd, f('source') ?? '');
        if (!f('source') || !existsSync(file)) throw invalid(c, `--source ${f('source')}: no such file`);
        const source = readFileSync(file, 'utf8');
        try {
          parse(source);
        } catch (e) {
          throw invalid(c, `workflow source is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
        }
        accountMustExist(c, f('service-account'));
        let env = f('clear-env-vars') ? undefined : (w?.userEnvVars as Labels | undefined);
        if (f('set-env-vars')) env = parseKeyValues(f('set-env-vars') as string);
        const json = compact({
          name: full,
          state: 'ACTIVE',
          revisionId: `${String((Number((w?.revisionId as string)?.slice(0, 6) ?? 0) || 0) + 1).padStart(6, '0')}-abc`,
          createTime: (w?.createTime as string) ?? now(),
          updateTime: now(),
          serviceAccount: f('service-account')
            ? `projects/${P}/serviceAccounts/${f('service-account')}`
            : (w?.serviceAccount ??
              `projects/${P}/serviceAccounts/${this.projectNumber}-compute@developer.gserviceaccount.com`),
          sourceContents: source,
          labels: f('labels') ? parseKeyValues(f('labels') as string) : w?.labels,
          userEnvVars: env,
        });
        this.workflows.set(name, json);
        return json;
      }
      if (!w) throw notFound(c, full);
      if (op === 'describe') {
        allow(c, ['location']);
        return w;
      }
      if (op === 'delete') {
        allow(c, ['location']);
        this.workflows.delete(name);
        return undefined;
      }
    }

    // Cloud Scheduler.
    if (cmd(2) === 'scheduler jobs') {
      const op = pos[2];
      if (op === 'list') {
        allow(cmd(3), ['location']);
        return [...this.jobs.values()];
      }
      const kind = op === 'create' || op === 'update' ? pos[3] : undefined;
      const c = kind ? cmd(4) : cmd(3);
      const name = arg(c, kind ? 4 : 3);
      const full = `projects/${P}/locations/${f('location')}/jobs/${name}`;
      const job = this.jobs.get(name);
      const common = ['location', 'schedule', 'time-zone', 'description'];
      const httpFlags = [
        'uri',
        'http-method',
        'message-body',
        'oidc-service-account-email',
        'oidc-token-audience',
        'oauth-service-account-email',
        'oauth-token-scope',
      ];
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      const httpTarget = (prev: Json | undefined): Json => {
        let headers: Labels = f('clear-headers') ? {} : { ...((prev?.headers as Labels) ?? {}) };
        for (const k of (f('remove-headers') ?? '').split(',').filter(Boolean)) delete headers[k];
        headers = { ...headers, ...parseKeyValues(f('headers') ?? f('update-headers') ?? '') };
        let body = f('clear-message-body') ? undefined : (prev?.body as string | undefined);
        if (f('message-body') !== undefined) body = b64(f('message-body') as string);
        if (body !== undefined && !headers['Content-Type'])
          headers['Content-Type'] = 'application/octet-stream';
        headers['User-Agent'] = 'Google-Cloud-Scheduler';
        let auth: Json = {};
        if (f('oidc-service-account-email')) {
          accountMustExist(c, f('oidc-service-account-email'));
          auth = {
            oidcToken: {
              serviceAccountEmail: f('oidc-service-account-email'),
              audience: f('oidc-token-audience') ?? f('uri') ?? prev?.uri,
            },
          };
        } else if (f('oauth-service-account-email')) {
          accountMustExist(c, f('oauth-service-account-email'));
          auth = {
            oauthToken: {
              serviceAccountEmail: f('oauth-service-account-email'),
              scope: f('oauth-token-scope') ?? 'https://www.googleapis.com/auth/cloud-platform',
            },
          };
        } else if (prev) auth = compact({ oidcToken: prev.oidcToken, oauthToken: prev.oauthToken });
        return compact({
          uri: f('uri') ?? prev?.uri,
          httpMethod: (f('http-method') ?? (prev?.httpMethod as string) ?? 'post').toUpperCase(),
          headers,
          body,
          ...auth,
        });
      };
      const pubsubTarget = (prev: Json | undefined): Json => {
        const topic = f('topic');
        if (topic) topicMustExist(c, topic);
        let attributes: Labels = f('clear-attributes') ? {} : { ...((prev?.attributes as Labels) ?? {}) };
        for (const k of (f('remove-attributes') ?? '').split(',').filter(Boolean)) delete attributes[k];
        attributes = { ...attributes, ...parseKeyValues(f('attributes') ?? f('update-attributes') ?? '') };
        const data = f('message-body') !== undefined ? b64(f('message-body') as string) : prev?.data;
        if (data === undefined && Object.keys(attributes).length === 0)
          throw err(
            c,
            'Exactly one of (--message-body | --message-body-from-file) or --attributes must be specified.',
            2,
          );
        return compact({
          topicName: topic ? `projects/${P}/topics/${topic}` : prev?.topicName,
          data,
          attributes: Object.keys(attributes).length > 0 ? attributes : undefined,
        });
      };
      const timeZone = (prev: string | undefined) => {
        const tz = f('time-zone') ?? prev ?? 'Etc/UTC';
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
        } catch {
          throw invalid(c, `Invalid time zone ${tz}`);
        }
        return tz;
      };
      if (op === 'create') {
        if (kind === 'http') allow(c, [...common, ...httpFlags, 'headers']);
        else if (kind === 'pubsub') allow(c, [...common, 'topic', 'message-body', 'attributes']);
        else throw err(cmd(3), `Invalid choice: '${kind}'.`, 2);
        if (job) throw exists(c, full);
        if (!f('schedule')) throw err(c, 'argument --schedule: Must be specified.', 2);
        const json = compact({
          name: full,
          description: f('description'),
          schedule: f('schedule'),
          timeZone: timeZone(undefined),
          state: 'ENABLED',
          userUpdateTime: now(),
          retryConfig: {
            maxBackoffDuration: '3600s',
            maxDoublings: 5,
            maxRetryDuration: '0s',
            minBackoffDuration: '5s',
          },
          ...(kind === 'http'
            ? { httpTarget: httpTarget(undefined) }
            : { pubsubTarget: pubsubTarget(undefined) }),
        });
        this.jobs.set(name, json);
        return json;
      }
      if (!job) throw notFound(c, full);
      if (op === 'describe') {
        allow(c, ['location']);
        return job;
      }
      if (op === 'update') {
        if (kind === 'http')
          allow(c, [
            ...common,
            ...httpFlags,
            'update-headers',
            'remove-headers',
            'clear-headers',
            'clear-message-body',
          ]);
        else if (kind === 'pubsub')
          allow(c, [
            ...common,
            'topic',
            'message-body',
            'update-attributes',
            'remove-attributes',
            'clear-attributes',
          ]);
        else throw err(cmd(3), `Invalid choice: '${kind}'.`, 2);
        const isHttp = job.httpTarget !== undefined;
        if (isHttp !== (kind === 'http'))
          throw invalid(
            c,
            `Job ${full} has a ${isHttp ? 'http' : 'pubsub'} target; its target type cannot be changed.`,
          );
        const updated = compact({
          ...job,
          description: f('description') ?? job.description,
          schedule: f('schedule') ?? job.schedule,
          timeZone: timeZone(job.timeZone as string),
          userUpdateTime: now(),
          ...(kind === 'http'
            ? { httpTarget: httpTarget(job.httpTarget as Json) }
            : { pubsubTarget: pubsubTarget(job.pubsubTarget as Json) }),
        });
        this.jobs.set(name, updated);
        return updated;
      }
      if (op === 'delete') {
        allow(c, ['location']);
        this.jobs.delete(name);
        return undefined;
      }
    }

    // Alert policies: alpha only in gcloud 528.
    if (pos[0] === 'monitoring' && pos[1] === 'policies')
      throw err(
        'monitoring',
        "Invalid choice: 'policies'.\nMaybe you meant:\n  gcloud alpha monitoring policies",
        2,
      );
    if (cmd(3) === 'alpha monitoring policies') {
      const op = pos[3];
      const c = cmd(4);
      if (op === 'list') {
        allow(c, []);
        return [...this.alerts.values()];
      }
      const policyFlag = (): Json => {
        let p: Json;
        try {
          p = JSON.parse(f('policy') ?? '') as Json;
          if (typeof p.displayName !== 'string' || !Array.isArray(p.conditions) || p.conditions.length === 0)
            throw new Error('a policy needs displayName and at least one condition');
        } catch (e) {
          throw invalid(c, `--policy: ${(e as Error).message}`);
        }
        // Conditions on a log-based metric need the metric (its descriptor exists once it does).
        for (const cond of p.conditions as Json[]) {
          const t = (cond.conditionThreshold as Json | undefined) ?? {};
          for (const m of String(t.filter ?? '').matchAll(
            /metric\.type\s*=\s*"logging\.googleapis\.com\/user\/([^"]+)"/g,
          )) {
            const metric = this.logMetrics.get(m[1] as string);
            if (!metric)
              throw invalid(
                c,
                `Cannot find metric(s) that match type = "logging.googleapis.com/user/${m[1]}".`,
              );
            const aligner =
              ((t.aggregations as Json[] | undefined)?.[0]?.perSeriesAligner as string) ?? 'ALIGN_NONE';
            if (
              (metric.metricDescriptor as Json).valueType === 'DISTRIBUTION' &&
              !aligner.startsWith('ALIGN_PERCENTILE_')
            )
              throw invalid(c, `The aligner ${aligner} is not valid for a DELTA DISTRIBUTION metric.`);
          }
        }
        return p;
      };
      const stored = (p: Json, id: string, created: string): Json => ({
        ...p,
        name: `projects/${P}/alertPolicies/${id}`,
        conditions: (p.conditions as Json[]).map((cond, i) => {
          const t = { ...(cond.conditionThreshold as Json) };
          if (t.thresholdValue === 0) delete t.thresholdValue; // proto3 JSON drops zero values
          return {
            ...cond,
            conditionThreshold: t,
            name: `projects/${P}/alertPolicies/${id}/conditions/${id}${i}`,
          };
        }),
        creationRecord: { mutateTime: created, mutatedBy: 'deployer@example.com' },
        mutationRecord: { mutateTime: now(), mutatedBy: 'deployer@example.com' },
      });
      if (op === 'create') {
        allow(c, ['policy']);
        const id = String(1000000 + ++this.#seq);
        const json = stored(policyFlag(), id, now());
        this.alerts.set(json.name as string, json);
        return json;
      }
      const name = arg(c, 4);
      const a = this.alerts.get(name);
      if (!a) throw notFound(c, name);
      if (op === 'describe') return a;
      if (op === 'update') {
        allow(c, ['policy']);
        const json = stored(
          policyFlag(),
          name.slice(name.lastIndexOf('/') + 1),
          (a.creationRecord as Json).mutateTime as string,
        );
        this.alerts.set(name, json);
        return json;
      }
      if (op === 'delete') {
        allow(c, []);
        this.alerts.delete(name);
        return undefined;
      }
    }
    throw err(pos.join('.'), `Invalid choice: '${pos.join(' ')}'.`, 2);
  }
}

/** A policy as `get-iam-policy --format=json` prints it (version 3 once a binding has a condition). */
function policyJson(bindings: Binding[]): Json {
  const version = bindings.some((b) => b.condition) ? 3 : 1;
  return bindings.length > 0 ? { bindings, etag: 'BwYAbc=', version } : { etag: 'ACAB' };
}

/** Drops undefined fields (gcloud's JSON has no nulls for unset fields). */
function compact(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
