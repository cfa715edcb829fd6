/** Bandwidth in both providers' spellings: AWS `1Gbps` / `500Mbps`, Google `BPS_1G` / `BPS_500M`. */

export interface Bandwidth {
  mbps: number;
  aws: string;
  gcp: string;
}

/** Parses either spelling; undefined when it is neither. */
export function parseBandwidth(text: string): Bandwidth | undefined {
  const m = /^(?:(\d+)([MG])bps|BPS_(\d+)([MG]))$/.exec(text);
  if (!m) return undefined;
  const n = Number(m[1] ?? m[3]);
  const unit = (m[2] ?? m[4]) as 'M' | 'G';
  if (n <= 0) return undefined;
  const mbps = unit === 'G' ? n * 1000 : n;
  return fromMbps(mbps);
}

export function fromMbps(mbps: number): Bandwidth {
  const g = mbps >= 1000 && mbps % 1000 === 0;
  const n = g ? mbps / 1000 : mbps;
  const u = g ? 'G' : 'M';
  return { mbps, aws: `${n}${u}bps`, gcp: `BPS_${n}${u}` };
}
