/** CLI-level errors and the one mapping from any error to an exit code and one-line messages. */
import {
  CrosslinkError,
  IllegalTransitionError,
  NotFoundError,
  PermissionDeniedError,
  PolicyHashMismatchError,
  PolicyRefusedError,
  TimedOutError,
  ValidationError,
} from '#core/errors.ts';

export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  refused: 3,
  notFound: 4,
  timedOut: 5,
  /** `--wait` saw the work end in another end state than the one waited for (e.g. REJECTED). */
  otherEnd: 6,
} as const;

/** Wrong command line: unknown command or flag, missing argument. */
export class UsageError extends CrosslinkError {}

/** An input file that cannot be read or parsed; `problems` are `file:line:col: message` lines. */
export class InputFileError extends CrosslinkError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(problems.join('; '));
    this.problems = problems;
  }
}

/** The local cloud is not running and no --target was given. */
export class NoTargetError extends CrosslinkError {}

/** The intake refused a command that the link's state does not allow, or another policy version (409). */
export class StateRefusedError extends CrosslinkError {}

/** `--wait` saw the link end in another end state than the one it waited for. */
export class OtherEndStateError extends CrosslinkError {}

export function exitCodeFor(err: unknown): number {
  if (
    err instanceof UsageError ||
    err instanceof InputFileError ||
    err instanceof ValidationError ||
    err instanceof NoTargetError
  )
    return EXIT.usage;
  if (
    err instanceof PolicyRefusedError ||
    err instanceof PermissionDeniedError ||
    err instanceof PolicyHashMismatchError ||
    err instanceof IllegalTransitionError ||
    err instanceof StateRefusedError
  )
    return EXIT.refused;
  if (err instanceof OtherEndStateError) return EXIT.otherEnd;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof TimedOutError) return EXIT.timedOut;
  return EXIT.unexpected;
}

/** One line per problem, no stack trace (set CROSSLINK_DEBUG=1 to see one). */
export function errorLines(err: unknown, prefix?: string): string[] {
  const p = prefix ? `${prefix}: ` : '';
  if (err instanceof ValidationError) return err.issues.map((i) => `${p}${i.path || '(root)'}: ${i.reason}`);
  if (err instanceof InputFileError) return [...err.problems];
  if (err instanceof PolicyRefusedError) return err.reasons.map((r) => `refused: ${r}`);
  if (err instanceof Error)
    return [`${err instanceof CrosslinkError ? '' : 'error: '}${err.message}`.split('\n')[0] as string];
  return [`error: ${String(err)}`];
}
