/**
 * Named domain errors. Adapters map them to HTTP codes, workflow outputs or CLI exit codes through
 * one mapping function per edge; Step Functions `Retry`/`Catch` match on `name`.
 */

/** One problem with an input: where it is (a dotted / indexed path) and why it is wrong. */
export interface Issue {
  path: string;
  reason: string;
}

/**
 * Base of every crosslink error: a stable `name` and a one-line message. The name is the class
 * name; each class that Step Functions or an intake may see also writes it as a string
 * (`override name = '...'`), because the Lambda bundles are minified without keeping names
 * (serverless.yml `custom.esbuild`), and a subclass of one of those must write its own.
 */
export class CrosslinkError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target === CrosslinkError ? 'CrosslinkError' : new.target.name;
  }
}

/** Input is malformed: every problem is listed with its path. */
export class ValidationError extends CrosslinkError {
  override name = 'ValidationError';
  readonly issues: readonly Issue[];
  /** What was invalid (a file, `input`, `request body`). */
  readonly subject: string;
  constructor(issues: readonly Issue[], subject = 'input') {
    super(`${subject} is invalid: ${issues.map((i) => `${i.path || '(root)'}: ${i.reason}`).join('; ')}`);
    this.issues = issues;
    this.subject = subject;
  }

  /** One line per problem: `<subject>: <path>: <reason>`. */
  lines(): string[] {
    return this.issues.map((i) => `${this.subject}: ${i.path || '(root)'}: ${i.reason}`);
  }
}

/** A policy refused the request; `reasons` are the failing decisions' messages. */
export class PolicyRefusedError extends CrosslinkError {
  override name = 'PolicyRefusedError';
  readonly reasons: readonly string[];
  constructor(reasons: readonly string[]) {
    super(`refused by policy: ${reasons.join('; ')}`);
    this.reasons = reasons;
  }
}

/** The caller is not allowed to do this (role, self-approval, wrong side). */
export class PermissionDeniedError extends CrosslinkError {
  override name = 'PermissionDeniedError';
}

/** A command that the current state does not allow. */
export class IllegalTransitionError extends CrosslinkError {
  override name = 'IllegalTransitionError';
  readonly from: string;
  readonly command: string;
  constructor(from: string, command: string, why?: string) {
    super(`cannot ${command} a link in state ${from}${why ? `: ${why}` : ''}`);
    this.from = from;
    this.command = command;
  }
}

/** A peer's event was made under a different policy version than ours. */
export class PolicyHashMismatchError extends CrosslinkError {
  override name = 'PolicyHashMismatchError';
  constructor(theirs: string, ours: string) {
    super(
      `policy hash mismatch: event carries ${theirs}, this side runs ${ours}; deploy the same config/policy.yaml on both clouds`,
    );
  }
}

/** The thing asked for does not exist. */
export class NotFoundError extends CrosslinkError {
  override name = 'NotFoundError';
}

/** A wait ran out of time. */
export class TimedOutError extends CrosslinkError {
  override name = 'TimedOutError';
}

/** A conditional write lost a race: the record changed (or already exists) since it was read. */
export class ConflictError extends CrosslinkError {
  override name = 'ConflictError';
}

/**
 * The installation lacks a deploy-time value the operation needs (the peer cloud's sealing key in
 * the first phase of a deploy, before the peer was deployed): the message names the values and
 * the deploy step that gives them.
 */
export class NotConfiguredError extends CrosslinkError {
  override name = 'NotConfiguredError';
}

/**
 * What was asked for is recorded, but a step after it failed for now (throttled, unavailable): the
 * caller may repeat the request, which is idempotent, to finish it.
 */
export class UnavailableError extends CrosslinkError {
  override name = 'UnavailableError';
}
