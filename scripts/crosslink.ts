#!/usr/bin/env node
import { processIO } from './cli/io.ts';
import { main } from './cli/main.ts';

// `crosslink link show <id> | head -1`: the reader has what it wanted and closed the pipe. That is
// no error of the command's, so it ends quietly, with the command's own exit code so far.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
}

process.exitCode = await main(process.argv.slice(2), processIO);
