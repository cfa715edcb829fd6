#!/usr/bin/env node
/**
 * One Cloud Run function host (a child process of the local cloud, one per function of gcp.yml):
 * imports the function's source, which registers itself with `ff.http` / `ff.cloudEvent`, and
 * serves it with functions-framework's own server (the one `functions-framework --target` runs,
 * including its Pub/Sub push -> CloudEvent conversion) on 127.0.0.1 and a free port, which it
 * prints as `{"port": N}` on stdout. Usage: function-host-main.ts <source> <entryPoint>.
 */
import { pathToFileURL } from 'node:url';

const [source, target] = process.argv.slice(2);
if (!source || !target) {
  process.stderr.write('usage: function-host-main.ts <source file> <entry point>\n');
  process.exit(2);
}
await import(pathToFileURL(source).href);
const { getTestServer } = await import('@google-cloud/functions-framework/testing');
const server = getTestServer(target);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
