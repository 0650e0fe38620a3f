import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { parseDocument } from 'yaml';
import { type CommonOptions, type Fail, makeReader } from './reader';

/**
 * Resolve `path` inside `workspace`, or say why not. Both `..` and symlinks that
 * lead outside count as escaping: an action must not read the runner's other files.
 */
export function resolveInWorkspace(path: string, workspace: string): { path: string } | { problem: string } {
  const root = resolve(workspace);
  const target = resolve(root, path);
  if (!inside(root, target)) return { problem: 'must stay inside the workspace' };
  if (existsSync(target)) {
    const realRoot = realpathSync(root);
    if (!inside(realRoot, realpathSync(target))) return { problem: 'leads outside the workspace through a symlink' };
  }
  return { path: target };
}

function inside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

export interface FilePathOptions extends CommonOptions {
  /** Refuse a path that does not exist (default true). */
  mustExist?: boolean;
}

/** A file path relative to the workspace, returned absolute. */
export function filePath<const O extends FilePathOptions>(options?: O) {
  return makeReader('file path', options, 'deploy/values.yml', (raw, fail, ctx) => {
    const resolved = resolveInWorkspace(raw.trim(), ctx.workspace);
    if ('problem' in resolved) return fail(`${resolved.problem} (${ctx.workspace})`);
    if ((options?.mustExist ?? true) && !existsSync(resolved.path)) fail(`no such file in the workspace`);
    return resolved.path;
  });
}

export interface StructuredOptions<T> extends CommonOptions {
  /** Check and convert the parsed document; call `fail` to refuse it. */
  validate?: (document: unknown, fail: Fail) => T;
}

/** A one-line value naming a file (not inline YAML/JSON): no `:`-mapping, flow start or list dash. */
function looksLikePath(raw: string): boolean {
  const text = raw.trim();
  return !text.includes('\n') && !/^[[{"'-]/.test(text) && (/\.(ya?ml|json)$/i.test(text) || !/:\s/.test(text));
}

/**
 * A YAML or JSON block, inline or as a path to a file in the workspace. Parse
 * errors say the line and column (and the file), since these blocks get long.
 */
export function structured<T = unknown, const O extends StructuredOptions<T> = StructuredOptions<T>>(options?: O) {
  return makeReader(
    'YAML/JSON block',
    options,
    '{ name: health, url: https://example.com/healthz }',
    (raw, fail, ctx) => {
      let text = raw;
      let source = 'inline';
      if (looksLikePath(raw)) {
        const resolved = resolveInWorkspace(raw.trim(), ctx.workspace);
        if ('path' in resolved && existsSync(resolved.path)) {
          text = readFileSync(resolved.path, 'utf8');
          source = raw.trim();
        } else if ('problem' in resolved) {
          fail(`names a file that ${resolved.problem}`);
        } else if (/\.(ya?ml|json)$/i.test(raw.trim())) {
          fail('names a file that does not exist in the workspace');
        }
      }
      const document = parseBlock(text, source, fail);
      return options?.validate ? options.validate(document, fail) : (document as T);
    },
  );
}

function parseBlock(text: string, source: string, fail: Fail): unknown {
  const document = parseDocument(text);
  const error = document.errors[0];
  if (error) {
    const where = error.linePos?.[0];
    const at = where ? ` at line ${where.line}, column ${where.col}` : '';
    const file = source === 'inline' ? '' : ` in ${source}`;
    // The library appends its own "at line N, column M:" and a code excerpt; keep only the reason.
    const reason = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
    fail(`is not valid YAML/JSON${file}${at}: ${reason}`);
  }
  return document.toJS();
}
