/** An admin-API refusal: the admin router answers `{error: {code, message}}` with `status`. */
export function adminError(status: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { status, code });
}

/**
 * A refusal of the admin API or of a template's resource, with the status and code the admin API
 * answers (`{error: {code, message}}`).
 */
export class AdminRefusal extends Error {
  readonly status: number;
  readonly code: string;
  constructor(message: string, status: number, code: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
