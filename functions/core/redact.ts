/**
 * Keeping a secret out of an error. A provider may quote what it refused, an activation key
 * included, and an error's message reaches logs, Step Functions' error cause and workflow
 * variables, where a key must never be (docs/architecture.md, "Activation keys").
 */

/** The error with every occurrence of `secret` in its message replaced by `[key]`; anything else as is. */
export function withoutSecret(e: unknown, secret: string): unknown {
  if (e instanceof Error && secret && e.message.includes(secret))
    e.message = e.message.split(secret).join('[key]');
  return e;
}
