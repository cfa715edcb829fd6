/**
 * Where JSON text first breaks, and why: a strict RFC 8259 scanner run only after `JSON.parse` has
 * refused the text, since V8's messages do not always give a position ("Unexpected token ','").
 */

export interface JsonSyntaxProblem {
  /** 1-based, as editors count. */
  readonly line: number;
  readonly col: number;
  readonly reason: string;
}

class Stop extends Error {
  readonly at: number;
  readonly reason: string;
  constructor(at: number, reason: string) {
    super(reason);
    this.at = at;
    this.reason = reason;
  }
}

/** The first syntax problem of `text`, or undefined when it is valid JSON. */
export function jsonSyntaxProblem(text: string): JsonSyntaxProblem | undefined {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const found = () => (i >= text.length ? 'the end of the file' : `${JSON.stringify(text[i])}`);
  const fail = (expected: string): never => {
    throw new Stop(
      i,
      i >= text.length
        ? `unexpected end of the file: expected ${expected} (truncated?)`
        : `expected ${expected}, found ${found()}`,
    );
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail('a value');
  };
  const string = () => {
    i++; // the opening quote
    for (;;) {
      if (i >= text.length) fail('the closing "');
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return;
      }
      if (c < 0x20) throw new Stop(i, 'a control character inside a string (escape it)');
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) throw new Stop(i, 'a bad \\u escape');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else throw new Stop(i, 'a bad escape in a string');
      } else i++;
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) fail('a value');
    i += (m as RegExpExecArray)[0].length;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') container('}', true);
    else if (c === '[') container(']', false);
    else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else fail('a value');
  };
  const container = (close: string, object: boolean) => {
    i++;
    ws();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      if (object) {
        ws();
        if (text[i] !== '"') fail('a "key" in double quotes');
        string();
        ws();
        if (text[i] !== ':') fail("':'");
        i++;
      }
      value();
      ws();
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === close) {
        i++;
        return;
      }
      fail(`',' or '${close}'`);
    }
  };
  try {
    if (text.charCodeAt(0) === 0xfeff) i = 1;
    value();
    ws();
    if (i < text.length) fail('the end of the file after the value');
    return undefined;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const before = text.slice(0, e.at);
    const line = before.split('\n').length;
    return { line, col: e.at - before.lastIndexOf('\n'), reason: e.reason };
  }
}
