/** Serving the admin API (`/_crosslink/...`) over HTTP, the same on both edges. */
import type { ServerResponse } from 'node:http';

/** Handles `/_crosslink/...`; returns undefined when the path is not an admin route. */
export type AdminHandler = (
  method: string,
  path: string,
  body: unknown,
  query: URLSearchParams,
) => Promise<{ status: number; body: unknown } | undefined>;

export interface AdminCall {
  method: string;
  path: string;
  body: Buffer;
  query: URLSearchParams;
}

/**
 * Parses a JSON body, runs the handler and answers `{error: {code, message}}` on failure: 400 for a
 * bad body, a RangeError or what `clientError` recognises, 404 for an unknown route, else 500 (logged).
 */
export async function serveAdmin(
  handler: AdminHandler | undefined,
  call: AdminCall,
  res: ServerResponse,
  options: { log(message: string): void; clientError?(err: unknown): { code: string } | undefined },
): Promise<void> {
  let parsed: unknown = {};
  if (call.body.length > 0) {
    try {
      parsed = JSON.parse(call.body.toString('utf8'));
    } catch {
      send(res, 400, { error: { code: 'BadRequest', message: 'admin bodies are JSON' } });
      return;
    }
  }
  try {
    const result = handler ? await handler(call.method, call.path, parsed, call.query) : undefined;
    if (!result) {
      send(res, 404, { error: { code: 'NotFound', message: `no admin route ${call.method} ${call.path}` } });
      return;
    }
    send(res, result.status, result.body);
  } catch (err) {
    const e = err as Error & { status?: number; code?: string };
    const known = options.clientError?.(err);
    const status = e.status ?? (err instanceof RangeError || known ? 400 : 500);
    if (status >= 500) options.log(`admin: ${e.stack ?? e.message}`);
    send(res, status, { error: { code: known?.code ?? e.code ?? e.name, message: e.message } });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const buf = Buffer.from(JSON.stringify(body ?? null));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(buf.length) });
  res.end(buf);
}
