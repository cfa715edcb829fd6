/**
 * The AWS functions' structured log (functions/aws/lambda-logger.ts): an entry's fields and the
 * appended keys never replace a standard key, so a line's `message` is the one logged (drExecutor's
 * page is found as `DR executor page` with the page's text in a field of its own).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LambdaLogger } from '#aws/lambda-logger.ts';

afterEach(() => {
  vi.restoreAllMocks();
});

function lines(write: (logger: LambdaLogger) => void): Record<string, unknown>[] {
  const out: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  const logger = new LambdaLogger('crosslink-aws', {});
  logger.begin({ functionName: 'crosslink-dev-drExecutor', awsRequestId: 'r-1' });
  write(logger);
  return out.map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('LambdaLogger', () => {
  it("keeps the line's own message, level and service over fields named like them", () => {
    const [line] = lines((l) =>
      l.error('DR executor page', {
        reason: 'action-timed-out',
        message: 'the page text',
        level: 'DEBUG',
        service: 'payments-api',
      }),
    );
    expect(line).toMatchObject({
      level: 'ERROR',
      message: 'DR executor page',
      service: 'crosslink-aws',
      function_name: 'crosslink-dev-drExecutor',
      reason: 'action-timed-out',
    });
  });

  it('keeps the appended keys and the fields that are not standard keys', () => {
    const [line] = lines((l) => {
      l.appendKeys({ linkId: 'lnk-1', function_name: 'forged' });
      l.info('relay batch', { records: 2, page: 'text' });
    });
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'relay batch',
      function_name: 'crosslink-dev-drExecutor',
      linkId: 'lnk-1',
      records: 2,
      page: 'text',
    });
  });
});
