/** An admin-API refusal: the admin router answers `{error: {code, message}}` with `status`. */
export function adminError(status: number, code: string, message: string): Error {
  return Object.assign(new Error(message), { status, code });
}
