/**
 * The `{{expression}}` templates of metadata-action's tag rules and labels: a
 * name (`{{branch}}`, `{{version}}`), or a helper with quoted arguments and
 * `key=value` options (`{{date 'YYYYMMDD' tz='Asia/Tokyo'}}`). A name with no
 * value renders empty, as Handlebars does; a helper that does not exist, or a
 * `{{` that is never closed, is an error naming the template.
 */
import { UserError } from '../errors';

export type Helper = (args: string[], options: Record<string, string>) => string;
export type TemplateScope = Record<string, string | number | Helper | undefined>;

const ARGUMENT = /\s*(?:([\w-]+)\s*=\s*)?(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s'"=]+))/y;

export function renderTemplate(template: string, scope: TemplateScope, where: string): string {
  let out = '';
  let index = 0;
  while (index < template.length) {
    const open = template.indexOf('{{', index);
    if (open < 0) {
      out += template.slice(index);
      break;
    }
    if (open > 0 && template[open - 1] === '\\') {
      out += `${template.slice(index, open - 1)}{{`;
      index = open + 2;
      continue;
    }
    out += template.slice(index, open);
    const triple = template.startsWith('{{{', open);
    const close = template.indexOf(triple ? '}}}' : '}}', open + 2);
    if (close < 0) throw new UserError(`${where}: "{{" without a closing "}}" in ${JSON.stringify(template)}`);
    out += evaluate(template.slice(open + (triple ? 3 : 2), close).trim(), scope, where);
    index = close + (triple ? 3 : 2);
  }
  return out;
}

function evaluate(expression: string, scope: TemplateScope, where: string): string {
  const name = /^[\w.]+/.exec(expression)?.[0];
  if (!name) throw new UserError(`${where}: cannot read the expression {{${expression}}}`);
  const args: string[] = [];
  const options: Record<string, string> = {};
  ARGUMENT.lastIndex = name.length;
  while (ARGUMENT.lastIndex < expression.length) {
    const start = ARGUMENT.lastIndex;
    const match = ARGUMENT.exec(expression);
    if (!match)
      throw new UserError(
        `${where}: cannot read {{${expression}}} from ${JSON.stringify(expression.slice(start).trim())}`,
      );
    const value = match[2] ?? match[3] ?? resolve(match[4]!, scope);
    if (match[1]) options[match[1]] = unquote(value);
    else args.push(unquote(value));
  }
  const value = scope[name];
  if (typeof value === 'function') return value(args, options);
  if (args.length > 0 || Object.keys(options).length > 0) {
    throw new UserError(`${where}: unknown helper ${JSON.stringify(name)} in {{${expression}}}`, {
      hint: "Helpers: date, commit_date (e.g. {{date 'YYYYMMDD' tz='UTC'}})",
    });
  }
  return value === undefined ? '' : String(value);
}

function resolve(token: string, scope: TemplateScope): string {
  if (/^-?\d+(\.\d+)?$/.test(token) || token === 'true' || token === 'false') return token;
  const value = scope[token];
  return typeof value === 'function' ? value([], {}) : value === undefined ? '' : String(value);
}

function unquote(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

/** True when the template is exactly one `{{raw}}` (metadata-action then keeps a prerelease's raw text). */
export function isRawTemplate(template: string): boolean {
  return /^\{\{\s*raw\s*\}\}$/.test(template);
}
