/** The labels crosslink puts on what it creates on Google (transports, secrets). */

export const LINK_LABEL = 'crosslink-link-id';

/**
 * The cost labels plus `crosslink-link-id`, as Google takes labels: lowercase keys and values of
 * `[a-z0-9_-]`, at most 63 characters (anything else becomes `_`).
 */
export function toLabels(tags: Record<string, string>, linkId: string): Record<string, string> {
  const clean = (s: string) =>
    s
      .toLowerCase()
      .replace(/[^a-z0-9_-]/g, '_')
      .slice(0, 63);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) out[clean(k)] = clean(v);
  out[LINK_LABEL] = linkId;
  return out;
}
