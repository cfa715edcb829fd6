/**
 * The environment the Google half's functions require (no SDK here: scripts/deploy-gcp reads it to
 * refuse a gcp.yml that would not start).
 */

/**
 * The variables a function of the Google half cannot run without (gcp.yml `environment`). The
 * entry module checks them at start, and scripts/deploy-gcp refuses a gcp.yml that lacks one.
 */
export const REQUIRED_VARIABLES = [
  'CROSSLINK_EVENTS_TOPIC',
  'CROSSLINK_KMS_KEY',
  'CROSSLINK_PROVISIONING_WORKFLOW',
  'CROSSLINK_DECOMMISSIONING_WORKFLOW',
  'CROSSLINK_VPN_HALF_WORKFLOW',
  'CROSSLINK_PEER_PUBLIC_KEY_PEM',
  'CROSSLINK_PEER_KEY_ID',
] as const;

/** The required variables `env` lacks (unset or empty), in REQUIRED_VARIABLES order. */
export function missingVariables(env: Record<string, string | undefined>): string[] {
  return REQUIRED_VARIABLES.filter((name) => !env[name]);
}
