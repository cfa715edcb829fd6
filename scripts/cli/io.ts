/** Reading input files (YAML or JSON) with problems reported as `file:line:col: message`. */
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { InputFileError } from './errors.ts';

export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  cwd: string;
  env: Record<string, string | undefined>;
  /** Where a progress line goes (stderr), and whether it is a terminal (no line when it is not). */
  status?: { isTTY?: boolean; write(chunk: string): unknown };
}

export const processIO: CliIO = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
  cwd: process.cwd(),
  env: process.env,
  status: process.stderr,
};

/** Parses YAML (a superset of JSON) text; throws InputFileError with every syntax problem located. */
export function parseStructured(text: string, name: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new InputFileError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0];
        const msg = e.message.split('\n')[0]?.replace(/ at line \d+, column \d+.*$/, '') ?? 'syntax error';
        return `${name}${pos ? `:${pos.line}:${pos.col}` : ''}: ${msg}`;
      }),
    );
  }
  return doc.toJS({ maxAliasCount: 50 });
}

export async function readStructuredFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (e as Error).message;
    throw new InputFileError([`${path}: ${why}`]);
  }
  return parseStructured(text, path);
}
