/** The flags every command takes (main.ts parses them; the shell completion offers them). */
import type { ParseArgsOptionDescriptor } from 'node:util';

export const GLOBAL: Record<string, ParseArgsOptionDescriptor & { description: string }> = {
  json: { type: 'boolean', description: 'machine output: the resource or a list of them' },
  target: { type: 'string', description: 'local | cloud (default local when `npm start` is running)' },
  as: {
    type: 'string',
    description: 'local only: the identity of config/local-identities.yaml that signs the calls',
  },
  wait: { type: 'boolean', description: 'wait for the end state of the work a command starts' },
  timeout: { type: 'string', description: 'with --wait: how long to wait (e.g. 10m)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
  version: { type: 'boolean', description: 'show versions' },
};
