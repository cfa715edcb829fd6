/**
 * gcp.yml: the sample loads; every bad field is named, by the schema or by the reference checks.
 */
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#core/errors.ts';
import {
  type FunctionSpec,
  functionRegion,
  loadGcpConfig,
  memberOf,
  parseGcpConfig,
  serviceAccountEmail,
} from '#deployment/gcp-config.ts';
import { substituteEndpoints, substituteFunctionVariables } from '#deployment/gcp-config-substitute.ts';
import { capacityOf } from '#local/gcp/functions-host.ts';

const issuesOf = (text: string) => {
  try {
    parseGcpConfig(text);
    return [];
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.reason}`);
  }
};

describe('gcp.yml loader', () => {
  it("the repository's watcher serves one request at a time: one instance, one request each", () => {
    const watcher = loadGcpConfig('gcp.yml').functions.find((f) => f.name === 'watcher');
    expect(watcher).toBeDefined();
    expect(capacityOf(watcher as FunctionSpec)).toBe(1);
  });

  it('loads the sample with every kind of resource', () => {
    // Act
    const c = loadGcpConfig('test/fixtures/gcp/gcp.yml');
    // Assess
    expect(c.functions.map((f) => f.name)).toEqual(['whoami', 'whoami-west', 'orders', 'echo']);
    expect(c.subscriptions.find((s) => s.name === 'orders-push')?.deadLetter).toEqual({
      topic: 'orders-dead',
      maxDeliveryAttempts: 5,
    });
    expect(c.logSinks[0]?.topic).toBe('audit');
    expect(c.schedulerJobs.map((j) => j.name)).toEqual(['tick', 'morning-call', 'hourly-greet']);
    expect(c.workflows[0]?.source).toBe('workflows/greet.workflows.yaml');
    expect(c.root).toMatch(/test\/fixtures\/gcp$/);
  });

  it('names each field the schema refuses', () => {
    const issues = issuesOf(`
version: 1
serviceAccounts:
  - id: admin-sa
    roles: [roles/owner]
functions:
  - name: Intake
    source: /abs/intake.ts
    entryPoint: intake
    runtime: nodejs18
    maxInstances: 0
    concurrency: 1.5
    trigger: {}
subscriptions:
  - name: s1
    topic: t1
    deadLetter: {topic: d, maxDeliveryAttempts: 3}
schedulerJobs:
  - name: j1
    schedule: "every 5 minutes"
    pubsub: {topic: t1}
    extra: 1
`);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /^serviceAccounts\[0\]\.roles\[0\]: .*roles\/owner and roles\/editor are refused/,
        ),
        expect.stringMatching(/^functions\[0\]\.name: must be lowercase/),
        expect.stringMatching(/^functions\[0\]\.source: must be a path relative to gcp.yml/),
        'functions[0].runtime: must be "nodejs24"',
        'functions[0].maxInstances: must be >= 1',
        expect.stringMatching(/^functions\[0\]\.concurrency: must be an integer/),
        expect.stringMatching(/^functions\[0\]\.trigger: /),
        'subscriptions[0].deadLetter.maxDeliveryAttempts: must be >= 5',
        expect.stringMatching(/^schedulerJobs\[0\]\.schedule: must be a unix-cron expression/),
        'schedulerJobs[0].extra: is not a known field',
      ]),
    );
  });

  it('names broken references, repeated names and a dead-letter topic nobody reads', () => {
    const issues = issuesOf(`
version: 1
serviceAccounts:
  - {id: crosslink, roles: []}
functions:
  - name: f1
    source: f1.ts
    entryPoint: f1
    trigger: {topic: {name: nowhere, serviceAccount: ghost-account}}
topics:
  - name: t1
  - name: dead
subscriptions:
  - {name: s1, topic: t1, push: {function: f1, serviceAccount: crosslink}, deadLetter: {topic: dead}}
  - {name: s1, topic: t1}
logSinks:
  - {name: sink, filter: 'x="y"', topic: t9}
schedulerJobs:
  - {name: j1, schedule: "0 9 * * *", timeZone: Mars/Olympus, workflow: {name: nope, serviceAccount: crosslink}}
`);
    expect(issues).toEqual([
      'subscriptions[1]: repeats the name s1',
      'functions[0].trigger.topic.name: names the topic nowhere, which topics does not list',
      'functions[0].trigger.topic.serviceAccount: names the service account ghost-account, which serviceAccounts does not list',
      'subscriptions[0].push.function: names the function f1, which is not an HTTP function',
      'topics[1]: is a dead-letter topic without a subscription: its messages would be lost',
      'logSinks[0].topic: names the topic t9, which topics does not list',
      'schedulerJobs[0].workflow.name: names the workflow nope, which workflows does not list',
      'schedulerJobs[0].timeZone: must be an IANA time zone (got Mars/Olympus)',
    ]);
  });

  it('lists the schema problems and the broken references of one file together', () => {
    // Act: a mistyped region (schema) beside a function naming an account nobody declared (reference).
    const issues = issuesOf(`
version: 1
region: 5
serviceAccounts: []
functions:
  - name: fn
    source: functions/gcp/handlers/index.ts
    entryPoint: intake
    runtime: nodejs24
    serviceAccount: nobody
    trigger: { http: { invokers: [serviceAccount:ghost] } }
`);
    // Assess
    expect(issues).toEqual([
      'region: must be a string',
      'functions[0].serviceAccount: names the service account nobody, which serviceAccounts does not list',
      'functions[0].trigger.http.invokers[0]: names the service account ghost, which serviceAccounts does not list',
    ]);
  });

  it("doctor's relay lag: whole seconds, at least a minute; absent, no value", () => {
    expect(parseGcpConfig('version: 1\ndoctor: { relayMaxLagSeconds: 600 }\n').doctor).toEqual({
      relayMaxLagSeconds: 600,
    });
    expect(parseGcpConfig('version: 1\n').doctor).toEqual({});
    const [issue, ...more] = issuesOf('version: 1\ndoctor: { relayMaxLagSeconds: 30 }\n');
    expect(more).toEqual([]);
    expect(issue).toBe('doctor.relayMaxLagSeconds: must be >= 60');
  });

  it('network projects: every function learns them; bad entries are named', () => {
    const base = `
version: 1
serviceAccounts: [{ id: crosslink-steps, roles: [] }]
topics: [{ name: audit }]
logSinks: [{ name: transport-audit, filter: 'protoPayload.methodName:"TransportManager"', topic: audit }]
functions:
  - { name: steps, source: f.ts, entryPoint: steps, environment: { A: b }, trigger: { http: { invokers: [] } } }
`;
    const c = parseGcpConfig(
      `${base}networkProjects:
  - { project: network-east, serviceAccount: net-sa@network-east.iam.gserviceaccount.com, impersonators: [crosslink-steps], logSink: transport-audit }
`,
    );
    expect(c.functions[0]?.environment).toEqual({
      A: 'b',
      CROSSLINK_NETWORK_PROJECTS: '{"network-east":"net-sa@network-east.iam.gserviceaccount.com"}',
    });
    expect(parseGcpConfig(base).functions[0]?.environment).toEqual({ A: 'b' });
    expect(
      issuesOf(`${base.replace('A: b', 'CROSSLINK_NETWORK_PROJECTS: x')}networkProjects:
  - { project: Network, serviceAccount: x, impersonators: [], logSink: transport-audit }
  - { project: network-east, serviceAccount: net-sa@elsewhere.iam.gserviceaccount.com, impersonators: [nobody], logSink: gone }
  - { project: network-east, serviceAccount: net-sa@network-east.iam.gserviceaccount.com, impersonators: [crosslink-steps], logSink: transport-audit }
`),
    ).toEqual([
      expect.stringMatching(/^networkProjects\[0\]\.project: must be a Google project id/),
      expect.stringMatching(/^networkProjects\[0\]\.serviceAccount: must be the email of a service account/),
      expect.stringMatching(/^networkProjects\[0\]\.impersonators: /),
      // The references are checked too (a field the schema already refused is named once).
      'networkProjects[1].serviceAccount: must be a service account of network-east',
      'networkProjects[1].impersonators[0]: names the service account nobody, which serviceAccounts does not list',
      'networkProjects[1].logSink: names the log sink gone, which logSinks does not list',
      'networkProjects[2]: repeats the project network-east',
      'functions[0].environment.CROSSLINK_NETWORK_PROJECTS: is set from networkProjects: remove it here',
    ]);
    expect(
      issuesOf(`${base.replace('A: b', 'CROSSLINK_NETWORK_PROJECTS: x')}networkProjects:
  - { project: network-east, serviceAccount: net-sa@elsewhere.iam.gserviceaccount.com, impersonators: [nobody], logSink: gone }
  - { project: network-east, serviceAccount: net-sa@network-east.iam.gserviceaccount.com, impersonators: [crosslink-steps], logSink: transport-audit }
`),
    ).toEqual([
      'networkProjects[0].serviceAccount: must be a service account of network-east',
      'networkProjects[0].impersonators[0]: names the service account nobody, which serviceAccounts does not list',
      'networkProjects[0].logSink: names the log sink gone, which logSinks does not list',
      'networkProjects[1]: repeats the project network-east',
      'functions[0].environment.CROSSLINK_NETWORK_PROJECTS: is set from networkProjects: remove it here',
    ]);
  });

  it('names each bad field of a log metric and of the alerts that read it', () => {
    const shape = issuesOf(`
version: 1
logMetrics:
  - name: "bad name"
    filter: ""
    metricDescriptor: {metricKind: GAUGE, valueType: DOUBLE, labels: [{key: Stage}]}
    valueExtractor: jsonPayload.age
    labelExtractors: {stage: "EXTRACT(jsonPayload.stage"}
    bucketOptions: {linearBuckets: {numFiniteBuckets: 0, width: 0, offset: 0}, explicitBuckets: {bounds: []}}
    unknown: 1
alertPolicies:
  - {name: a1, displayName: A, filter: x, threshold: 1, aggregation: {perSeriesAligner: ALIGN_FASTEST, alignmentPeriod: 1h}}
`);
    expect(shape).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^logMetrics\[0\]\.name: must be 1-100 letters/),
        'logMetrics[0].filter: must not be empty',
        'logMetrics[0].metricDescriptor.metricKind: must be "DELTA"',
        'logMetrics[0].metricDescriptor.valueType: must be one of "INT64", "DISTRIBUTION"',
        expect.stringMatching(/^logMetrics\[0\]\.metricDescriptor\.labels\[0\]\.key: must be lowercase/),
        expect.stringMatching(/^logMetrics\[0\]\.valueExtractor: must be EXTRACT\(<field>\)/),
        expect.stringMatching(/^logMetrics\[0\]\.labelExtractors\.stage: must be EXTRACT/),
        'logMetrics[0].bucketOptions: must have exactly one of linearBuckets, exponentialBuckets, explicitBuckets',
        'logMetrics[0].bucketOptions.linearBuckets.numFiniteBuckets: must be >= 1',
        'logMetrics[0].bucketOptions.linearBuckets.width: must be > 0',
        'logMetrics[0].bucketOptions.explicitBuckets.bounds: must have at least 1 item',
        'logMetrics[0].unknown: is not a known field',
        expect.stringMatching(/^alertPolicies\[0\]\.aggregation\.perSeriesAligner: must be one of /),
        'alertPolicies[0].aggregation.alignmentPeriod: must be a duration in seconds such as 10s',
      ]),
    );

    const meaning = issuesOf(`
version: 1
logMetrics:
  - name: pending
    filter: jsonPayload.message="approval pending"
    metricDescriptor: {valueType: DISTRIBUTION, labels: [{key: stage}, {key: stage}, {key: side}]}
    labelExtractors: {stage: EXTRACT(jsonPayload.stage), extra: EXTRACT(jsonPayload.extra)}
  - name: count
    filter: jsonPayload.message="x"
    valueExtractor: EXTRACT(jsonPayload.n)
    bucketOptions: {explicitBuckets: {bounds: [10, 5]}}
  - name: count
    filter: jsonPayload.message="y"
alertPolicies:
  - name: waiting
    displayName: waiting
    filter: metric.type="logging.googleapis.com/user/pending"
    threshold: 172800
  - name: ghost
    displayName: ghost
    filter: metric.type="logging.googleapis.com/user/nowhere"
    threshold: 0
`);
    expect(meaning).toEqual([
      'logMetrics[2]: repeats the name count',
      'logMetrics[0].valueExtractor: is required for a DISTRIBUTION metric',
      'logMetrics[0].bucketOptions: is required for a DISTRIBUTION metric',
      'logMetrics[0].metricDescriptor.labels[1].key: repeats the label stage',
      'logMetrics[0].labelExtractors: has no extractor for the label side that metricDescriptor.labels declares',
      'logMetrics[0].labelExtractors.extra: extracts a label metricDescriptor.labels does not declare',
      'logMetrics[1].valueExtractor: is only for a DISTRIBUTION metric (a counter counts entries)',
      'logMetrics[1].bucketOptions: is only for a DISTRIBUTION metric',
      'logMetrics[1].bucketOptions.explicitBuckets.bounds: must be strictly increasing',
      'alertPolicies[0].aggregation.perSeriesAligner: must be an ALIGN_PERCENTILE_* aligner: the filter names a distribution metric (got the default ALIGN_MAX)',
      'alertPolicies[1].filter: names the log-based metric logging.googleapis.com/user/nowhere, which logMetrics does not list',
    ]);
  });

  it('refuses text that is not YAML, and expands service account ids to emails', () => {
    expect(issuesOf('version: [1')).toEqual([expect.stringMatching(/^: is not valid YAML/)]);
    expect(serviceAccountEmail('crosslink', 'p1')).toBe('crosslink@p1.iam.gserviceaccount.com');
    expect(serviceAccountEmail('a@b.com', 'p1')).toBe('a@b.com');
    expect(memberOf('serviceAccount:crosslink', 'p1')).toBe(
      'serviceAccount:crosslink@p1.iam.gserviceaccount.com',
    );
    expect(memberOf('user:alice@example.com', 'p1')).toBe('user:alice@example.com');
  });
});

/** `${env:<name>}` without tripping the template-string lint. */
const ref = (name: string) => ['$', '{env:', name, '}'].join('');

describe('push endpoints known at deploy time (env references)', () => {
  const yaml = (endpoint: string) => `version: 1
serviceAccounts: [{ id: crosslink-relay, roles: [] }]
topics: [{ name: events }]
subscriptions:
  - { name: relay, topic: events, push: { endpoint: "${endpoint}", serviceAccount: crosslink-relay, audience: aud } }
  - { name: pull, topic: events }
`;

  it('accepts an env reference and substitutes the variable, or names it when it is not set', () => {
    const c = parseGcpConfig(yaml(ref('RELAY_URL')));
    const { config } = substituteEndpoints(c, { RELAY_URL: 'https://x.example/relay/google' });
    expect(config.subscriptions[0]?.push).toEqual({
      endpoint: 'https://x.example/relay/google',
      serviceAccount: 'crosslink-relay',
      audience: 'aud',
    });
    expect(() => substituteEndpoints(c, {})).toThrow(ValidationError);
    const bad = (() => {
      try {
        substituteEndpoints(c, { RELAY_URL: 'ftp://nope' });
        return undefined;
      } catch (e) {
        return (e as ValidationError).issues;
      }
    })();
    expect(bad).toEqual([
      {
        path: 'subscriptions[0].push.endpoint',
        reason: 'RELAY_URL must be an http(s) URL, got "ftp://nope"',
      },
    ]);
    // The local cloud without the push target leaves that subscription out, and says which.
    const dropped = substituteEndpoints(c, {}, 'drop');
    expect(dropped.config.subscriptions.map((s) => s.name)).toEqual(['pull']);
    expect(dropped.dropped).toEqual([{ subscription: 'relay', variable: 'RELAY_URL' }]);
  });

  it('refuses any other form', () => {
    expect(issuesOf(yaml(ref('relay')))).toEqual([
      expect.stringMatching(
        /^subscriptions\[0\]\.push\.endpoint: must be an http\(s\) URL or \$\{env:NAME\}/,
      ),
    ]);
    expect(issuesOf(yaml('relay.example'))).toHaveLength(1);
  });
});

describe('gcp.yml: a function in its own region, a job only with a variable, an absence alert', () => {
  const file = (fn: string, job = '', alert = '') => `
version: 1
region: us-east4
serviceAccounts:
  - { id: runner, roles: [] }
functions:
  - name: probe
    source: probe.ts
    entryPoint: probe
${fn}
    environment:
      PLAN: \${env:PLAN, ''}
      NEEDED: \${env:NEEDED}
    trigger: { http: { invokers: [serviceAccount:runner] } }
schedulerJobs:
  - name: every-minute
    schedule: "* * * * *"
${job || '    when: { variable: PLAN }'}
    http: { function: probe, serviceAccount: runner }
${alert}`;

  it("places a function in its region, else the file's", () => {
    // Act
    const own = parseGcpConfig(file('    region: us-west1'));
    const inherited = parseGcpConfig(file(''));
    // Assess
    expect(functionRegion(own.functions[0] as FunctionSpec, own)).toBe('us-west1');
    expect(functionRegion(inherited.functions[0] as FunctionSpec, inherited)).toBe('us-east4');
  });

  it('refuses a region Cloud Run functions does not run in, and one that is no region, naming the field', () => {
    expect(issuesOf(file('    region: us-west9'))).toEqual([
      'functions[0].region: is us-west9, where Cloud Run functions does not run (gcloud functions regions list)',
    ]);
    expect(issuesOf(file('    region: West'))).toEqual([
      "functions[0].region: must be a Google region such as us-west1 (default: the file's region)",
    ]);
  });

  it('leaves an optional variable out when it is unset, and keeps a `when: {variable}` job only when it is set', () => {
    // Prepare
    const c = parseGcpConfig(file(''));
    // Act
    const without = substituteFunctionVariables(c, { NEEDED: 'x' });
    const withPlan = substituteFunctionVariables(c, { NEEDED: 'x', PLAN: '{"version":1}' });
    // Assess
    expect(without.functions[0]?.environment).toEqual({ NEEDED: 'x' });
    expect(without.schedulerJobs).toEqual([]);
    expect(without.omittedSchedulerJobs).toEqual([
      {
        name: 'every-minute',
        reason: 'the deploying environment does not set PLAN, which the job runs only with',
      },
    ]);
    expect(withPlan.functions[0]?.environment).toEqual({ NEEDED: 'x', PLAN: '{"version":1}' });
    expect(withPlan.schedulerJobs.map((j) => j.name)).toEqual(['every-minute']);
    expect(withPlan.omittedSchedulerJobs).toEqual([]);
    // The required one is still required.
    expect(() => substituteFunctionVariables(c, { PLAN: 'p' })).toThrow(
      /functions\[0\]\.environment\.NEEDED: needs the environment variable NEEDED/,
    );
  });

  it('refuses a `when` naming both conditions, or a variable that is no variable name', () => {
    expect(issuesOf(file('', '    when: { variable: PLAN, vpnCoordinator: gcp }'))).toEqual([
      expect.stringMatching(/^schedulerJobs\[0\]\.when: /),
    ]);
    expect(issuesOf(file('', '    when: { variable: plan }'))).toEqual([
      'schedulerJobs[0].when.variable: must name a variable of the deploying environment, such as CROSSLINK_DR_PLAN',
    ]);
  });

  it('takes an absence alert without threshold or comparison, for 120 s or more; a threshold alert needs its threshold', () => {
    const alert = (body: string) =>
      `alertPolicies:\n  - name: silent\n    displayName: silent\n    filter: metric.type="x"\n${body}`;
    expect(issuesOf(file('', '', alert('    absent: true\n    duration: 300s')))).toEqual([]);
    expect(
      issuesOf(
        file(
          '',
          '',
          alert('    absent: true\n    duration: 60s\n    threshold: 1\n    comparison: COMPARISON_LT'),
        ),
      ),
    ).toEqual([
      'alertPolicies[0].threshold: is not allowed with absent: true (no data is the condition)',
      'alertPolicies[0].comparison: is not allowed with absent: true (no data is the condition)',
      'alertPolicies[0].duration: must be at least 120s for absent: true (got 60s)',
    ]);
    expect(issuesOf(file('', '', alert('    duration: 60s')))).toEqual([
      'alertPolicies[0].threshold: is required (unless absent: true)',
    ]);
  });
});
