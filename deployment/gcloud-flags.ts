/** gcloud's `KEY=VALUE,...` flag values, as the deployer writes them and the simulated gcloud reads them. */

/**
 * A `KEY=VALUE,...` flag value. gcloud splits on commas; when a key or value holds one, the list
 * uses gcloud's alternate-delimiter syntax (`^|^K=V|K2=V2`, see `gcloud topic escaping`).
 */
export function keyValues(map: Record<string, string>): string {
  const pairs = Object.keys(map)
    .sort()
    .map((k) => `${k}=${map[k]}`);
  if (!pairs.some((p) => p.includes(','))) return pairs.join(',');
  const delim = ['|', '~', '#', '@', ';'].find((d) => !pairs.some((p) => p.includes(d))) ?? '\u0001';
  return `^${delim}^${pairs.join(delim)}`;
}

/** Parses a `keyValues` value back (the simulated gcloud reads flags the way gcloud does). */
export function parseKeyValues(value: string): Record<string, string> {
  let delim = ',';
  let body = value;
  const alt = /^\^(.+?)\^/.exec(value);
  if (alt) {
    delim = alt[1] as string;
    body = value.slice(alt[0].length);
  }
  const out: Record<string, string> = {};
  if (body === '') return out;
  for (const pair of body.split(delim)) {
    const eq = pair.indexOf('=');
    if (eq < 0) out[pair] = '';
    else out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
