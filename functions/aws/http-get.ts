/**
 * The probe run's HTTP GET port (functions/core/dr/probe-run.ts `HttpGet`) on Node's `fetch`: the
 * adapter both clouds' probes use (the Lambda and the Cloud Function run the same Node runtime).
 */
import type { HttpGet } from '#core/dr/probe-run.ts';

/**
 * A GET through `fetch` with a timeout, naming the vantage point in `x-crosslink-vantage` (so the
 * service's logs can tell the probes apart). Any 3xx is not followed: a health URL answers itself.
 * It never throws: no answer (a timeout, a reset, a refused connection) is an outcome with its cause.
 */
export function fetchGet(vantage: string, timeoutMs: number, fetcher: typeof fetch = fetch): HttpGet {
  return async (url) => {
    try {
      const res = await fetcher(url, {
        headers: { 'x-crosslink-vantage': vantage },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.body?.cancel();
      return { answered: true, status: res.status };
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      return {
        answered: false,
        error:
          err.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : (err.cause?.code ?? err.message),
      };
    }
  };
}
