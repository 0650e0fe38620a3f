/** Report files (coverage, security scans): found in the workspace, parsed with errors that name file and line. */
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../errors';
import { resolveInWorkspace } from '../inputs/files';

export interface ReportFile {
  path: string;
  /** Relative to the workspace, as annotations want it. */
  shown: string;
  text: string;
}

export function readReport(path: string, workspace: string, what: string): ReportFile {
  const resolved = resolveInWorkspace(path, workspace);
  if ('problem' in resolved) throw new UserError(`${what} ${path} ${resolved.problem}`);
  if (!existsSync(resolved.path)) throw new UserError(`${what} ${path} does not exist in the workspace (${workspace})`);
  return {
    path: resolved.path,
    shown: relative(workspace, resolved.path) || path,
    text: readFileSync(resolved.path, 'utf8'),
  };
}

/** 1-based line and column of a character offset. */
export function lineOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, offset));
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** A malformed report: the message names file and line, and the annotation points there. */
export class ReportError extends UserError {
  constructor(
    readonly file: string,
    readonly line: number,
    problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
  }
}

/** JSON.parse with the error at file:line:column (Node's message has no position for every error: jsonErrorAt finds it). */
export function parseJsonReport(report: ReportFile, format: string): unknown {
  try {
    return JSON.parse(report.text);
  } catch {
    const found = jsonErrorAt(report.text);
    const { line, column } = lineOf(report.text, found.offset);
    throw new ReportError(report.shown, line, `is not valid ${format} JSON (column ${column}): ${found.problem}`);
  }
}

/** Where JSON text first goes wrong, by a small recursive-descent reader (only run after JSON.parse failed). */
export function jsonErrorAt(text: string): { offset: number; problem: string } {
  let i = 0;
  class Stop extends Error {}
  const fail = (problem: string): never => {
    throw Object.assign(new Stop(problem), { offset: i });
  };
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const literal = (word: string) => {
    if (!text.startsWith(word, i)) fail(`unexpected ${describe()}`);
    i += word.length;
  };
  const describe = () =>
    i >= text.length ? 'end of file (is the file cut short?)' : `character ${JSON.stringify(text[i])}`;
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      else if (text[i]! < ' ') fail('control character in a string');
      i++;
    }
    if (i >= text.length) fail('unterminated string (is the file cut short?)');
    i++;
  };
  const value = (): void => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      space();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (text[i] !== '"') fail(`expected a property name in double quotes, got ${describe()}`);
        string();
        space();
        if (text[i] !== ':') fail(`expected ':' after a property name, got ${describe()}`);
        i++;
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return;
        } else fail(`expected ',' or '}', got ${describe()}`);
      }
    }
    if (c === '[') {
      i++;
      space();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        space();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return;
        } else fail(`expected ',' or ']', got ${describe()}`);
      }
    }
    if (c === '"') {
      string();
      return;
    }
    if (c !== undefined && /[-0-9]/.test(c)) {
      const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
      if (!match) fail(`invalid number at ${describe()}`);
      i += match![0].length;
      return;
    }
    const word = ({ t: 'true', f: 'false', n: 'null' } as Record<string, string>)[c ?? ''];
    if (word !== undefined) {
      literal(word);
      return;
    }
    fail(
      `unexpected ${describe()} (a value must be a string in double quotes, a number, true, false, null, an object or a list)`,
    );
  };
  try {
    value();
    space();
    if (i < text.length) fail(`unexpected ${describe()} after the end of the document`);
    return { offset: text.length, problem: 'not valid JSON' };
  } catch (error) {
    if (error instanceof Stop) return { offset: (error as Stop & { offset: number }).offset, problem: error.message };
    throw error;
  }
}

/** The line of the first occurrence of `needle` (for shape errors inside an otherwise valid document). */
export function lineOfText(report: ReportFile, needle: string): number {
  const at = report.text.indexOf(needle);
  return at < 0 ? 1 : lineOf(report.text, at).line;
}
