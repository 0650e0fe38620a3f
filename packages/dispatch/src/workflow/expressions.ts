/**
 * A small evaluator for GitHub Actions `${{ }}` expressions, with GitHub's semantics where
 * it has them: loose `==` (strings case-insensitive, mixed types compared as numbers),
 * `&&` / `||` returning an operand, a missing property reading as null. Anything outside
 * the supported subset (an unknown context or function, `*` filters) is an ExpressionError,
 * never an empty string.
 */

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

/** Status functions answer for the scope evaluating them (a step or a job). */
export interface StatusFunctions {
  success(): boolean;
  failure(): boolean;
  cancelled(): boolean;
}

export interface EvalContext {
  /** Context objects by name (github, env, inputs, vars, secrets, steps, needs, job). */
  contexts: Record<string, Value>;
  status: StatusFunctions;
}

export class ExpressionError extends Error {}

type Token =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ident'; value: string }
  | { kind: 'punct'; value: string };

const PUNCT = ['==', '!=', '<=', '>=', '&&', '||', '!', '<', '>', '(', ')', '[', ']', '.', ','];

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === "'") {
      // '' is an escaped quote inside a string literal.
      let value = '';
      i++;
      for (;;) {
        if (i >= source.length) throw new ExpressionError('unterminated string literal');
        if (source[i] === "'") {
          if (source[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += source[i++];
      }
      tokens.push({ kind: 'string', value });
      continue;
    }
    const number = /^(0x[0-9a-f]+|[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?)/i.exec(source.slice(i));
    if (number && !(tokens.at(-1)?.kind === 'punct' && tokens.at(-1)?.value === '.')) {
      tokens.push({ kind: 'number', value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    // Identifiers may hold dashes (steps.my-step.outputs).
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i));
    if (ident) {
      tokens.push({ kind: 'ident', value: ident[0] });
      i += ident[0].length;
      continue;
    }
    const punct = PUNCT.find((p) => source.startsWith(p, i));
    if (punct) {
      tokens.push({ kind: 'punct', value: punct });
      i += punct.length;
      continue;
    }
    if (ch === '*') throw new ExpressionError('object filters (.*) are not supported');
    throw new ExpressionError(`unexpected character ${JSON.stringify(ch)}`);
  }
  return tokens;
}

type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'context'; name: string }
  | { kind: 'member'; object: Node; property: Node }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'not'; operand: Node }
  | { kind: 'binary'; op: string; left: Node; right: Node };

const PRECEDENCE: Record<string, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4 };

class Parser {
  private at = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): Node {
    if (this.tokens.length === 0) throw new ExpressionError('the expression is empty');
    const node = this.binary(1);
    const rest = this.tokens[this.at];
    if (rest) throw new ExpressionError(`unexpected ${JSON.stringify(String(rest.value))}`);
    return node;
  }

  private peek(value: string): boolean {
    const token = this.tokens[this.at];
    return token?.kind === 'punct' && token.value === value;
  }

  private expect(value: string) {
    if (!this.peek(value)) {
      const token = this.tokens[this.at];
      throw new ExpressionError(`expected "${value}"${token ? ` before ${JSON.stringify(String(token.value))}` : ''}`);
    }
    this.at++;
  }

  private binary(minimum: number): Node {
    let left = this.unary();
    for (;;) {
      const token = this.tokens[this.at];
      const precedence = token?.kind === 'punct' ? PRECEDENCE[token.value] : undefined;
      if (precedence === undefined || precedence < minimum) return left;
      this.at++;
      const right = this.binary(precedence + 1);
      left = { kind: 'binary', op: token!.value as string, left, right };
    }
  }

  private unary(): Node {
    if (this.peek('!')) {
      this.at++;
      return { kind: 'not', operand: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private primary(): Node {
    const token = this.tokens[this.at++];
    if (!token) throw new ExpressionError('the expression ends too early');
    if (token.kind === 'number' || token.kind === 'string') return { kind: 'literal', value: token.value };
    if (token.kind === 'punct') {
      if (token.value !== '(') throw new ExpressionError(`unexpected "${token.value}"`);
      const inner = this.binary(1);
      this.expect(')');
      return inner;
    }
    const name = token.value;
    if (name === 'true' || name === 'false') return { kind: 'literal', value: name === 'true' };
    if (name === 'null') return { kind: 'literal', value: null };
    if (this.peek('(')) {
      this.at++;
      const args: Node[] = [];
      if (!this.peek(')')) {
        for (;;) {
          args.push(this.binary(1));
          if (this.peek(',')) this.at++;
          else break;
        }
      }
      this.expect(')');
      return { kind: 'call', name: name.toLowerCase(), args };
    }
    return { kind: 'context', name };
  }

  private postfix(node: Node): Node {
    for (;;) {
      if (this.peek('.')) {
        this.at++;
        const token = this.tokens[this.at++];
        if (token?.kind !== 'ident') throw new ExpressionError('expected a property name after "."');
        node = { kind: 'member', object: node, property: { kind: 'literal', value: token.value } };
      } else if (this.peek('[')) {
        this.at++;
        const property = this.binary(1);
        this.expect(']');
        node = { kind: 'member', object: node, property };
      } else {
        return node;
      }
    }
  }
}

export function truthy(value: Value): boolean {
  if (value === null || value === false || value === '' || value === 0) return false;
  if (typeof value === 'number' && Number.isNaN(value)) return false;
  return true;
}

function toNumber(value: Value): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === '') return 0;
    return /^0x[0-9a-f]+$/i.test(trimmed) ? Number.parseInt(trimmed, 16) : Number(trimmed);
  }
  return Number.NaN;
}

/** GitHub's loose equality: same types compare directly (strings ignoring case), others as numbers. */
function looseEquals(left: Value, right: Value): boolean {
  if (typeof left === 'string' && typeof right === 'string') return left.toLowerCase() === right.toLowerCase();
  if (typeof left === 'object' && left !== null) return left === right;
  if (typeof right === 'object' && right !== null) return false;
  if (typeof left === typeof right) return left === right;
  return toNumber(left) === toNumber(right);
}

function compare(op: string, left: Value, right: Value): boolean {
  if (typeof left === 'string' && typeof right === 'string') {
    const a = left.toLowerCase();
    const b = right.toLowerCase();
    return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
  }
  const a = toNumber(left);
  const b = toNumber(right);
  return op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : a >= b;
}

/** How a value is written into a string: null is empty, numbers and booleans as GitHub prints them. */
export function stringify(value: Value): string {
  if (value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'number') return String(value);
  // GitHub would write "Array" / "Object": almost never what was meant.
  throw new ExpressionError(
    `an ${Array.isArray(value) ? 'array' : 'object'} cannot be written into text; use toJSON()`,
  );
}

const FUNCTIONS: Record<string, { arity: [number, number]; call(args: Value[], ctx: EvalContext): Value }> = {
  success: { arity: [0, 0], call: (_args, ctx) => ctx.status.success() },
  failure: { arity: [0, 0], call: (_args, ctx) => ctx.status.failure() },
  cancelled: { arity: [0, 0], call: (_args, ctx) => ctx.status.cancelled() },
  always: { arity: [0, 0], call: () => true },
  contains: {
    arity: [2, 2],
    call: ([search, item]) => {
      if (Array.isArray(search)) return search.some((element) => looseEquals(element, item!));
      return stringify(search!).toLowerCase().includes(stringify(item!).toLowerCase());
    },
  },
  startswith: {
    arity: [2, 2],
    call: ([text, prefix]) => stringify(text!).toLowerCase().startsWith(stringify(prefix!).toLowerCase()),
  },
  endswith: {
    arity: [2, 2],
    call: ([text, suffix]) => stringify(text!).toLowerCase().endsWith(stringify(suffix!).toLowerCase()),
  },
  format: {
    arity: [1, 100],
    call: ([template, ...args]) =>
      stringify(template!).replace(/\{\{|\}\}|\{(\d+)\}/g, (match, index: string | undefined) => {
        if (match === '{{') return '{';
        if (match === '}}') return '}';
        const at = Number(index);
        if (at >= args.length) throw new ExpressionError(`format(): no argument for {${at}}`);
        return stringify(args[at]!);
      }),
  },
  join: {
    arity: [1, 2],
    call: ([list, separator]) =>
      Array.isArray(list)
        ? list.map(stringify).join(separator === undefined ? ',' : stringify(separator))
        : stringify(list!),
  },
  tojson: { arity: [1, 1], call: ([value]) => JSON.stringify(value, null, 2) },
  fromjson: {
    arity: [1, 1],
    call: ([text]) => {
      try {
        return JSON.parse(stringify(text!)) as Value;
      } catch (error) {
        throw new ExpressionError(`fromJSON(): ${(error as Error).message}`);
      }
    },
  },
};

function evaluateNode(node: Node, ctx: EvalContext): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'context': {
      if (!Object.hasOwn(ctx.contexts, node.name)) {
        throw new ExpressionError(
          `unknown context "${node.name}" (this runner has: ${Object.keys(ctx.contexts).join(', ')})`,
        );
      }
      return ctx.contexts[node.name]!;
    }
    case 'member': {
      const object = evaluateNode(node.object, ctx);
      const property = evaluateNode(node.property, ctx);
      if (Array.isArray(object)) {
        const index = toNumber(property);
        return Number.isInteger(index) ? (object[index] ?? null) : null;
      }
      if (object === null || typeof object !== 'object') return null;
      // Context keys are case-insensitive on GitHub (secrets.kubeconfig reads KUBECONFIG).
      const key = stringify(property);
      if (Object.hasOwn(object, key)) return object[key]!;
      const found = Object.keys(object).find((name) => name.toLowerCase() === key.toLowerCase());
      return found === undefined ? null : object[found]!;
    }
    case 'call': {
      const fn = FUNCTIONS[node.name];
      if (!fn) throw new ExpressionError(`unsupported function ${node.name}()`);
      const [min, max] = fn.arity;
      if (node.args.length < min || node.args.length > max) {
        throw new ExpressionError(`${node.name}() takes ${min === max ? min : `${min} to ${max}`} argument(s)`);
      }
      return fn.call(
        node.args.map((arg) => evaluateNode(arg, ctx)),
        ctx,
      );
    }
    case 'not':
      return !truthy(evaluateNode(node.operand, ctx));
    case 'binary': {
      const left = evaluateNode(node.left, ctx);
      if (node.op === '&&') return truthy(left) ? evaluateNode(node.right, ctx) : left;
      if (node.op === '||') return truthy(left) ? left : evaluateNode(node.right, ctx);
      const right = evaluateNode(node.right, ctx);
      if (node.op === '==') return looseEquals(left, right);
      if (node.op === '!=') return !looseEquals(left, right);
      return compare(node.op, left, right);
    }
  }
}

function parse(expression: string): Node {
  return new Parser(tokenize(expression)).parse();
}

export function evaluate(expression: string, ctx: EvalContext): Value {
  return evaluateNode(parse(expression), ctx);
}

/** Whether an expression calls a status function (else `if:` is implicitly `success() && (...)`). */
export function usesStatusFunction(expression: string): boolean {
  const walk = (node: Node): boolean => {
    switch (node.kind) {
      case 'call':
        return ['success', 'failure', 'cancelled', 'always'].includes(node.name) || node.args.some(walk);
      case 'member':
        return walk(node.object) || walk(node.property);
      case 'not':
        return walk(node.operand);
      case 'binary':
        return walk(node.left) || walk(node.right);
      default:
        return false;
    }
  };
  return walk(parse(expression));
}

/** Each `${{ expr }}` in a text, with where it is; a `}}` inside a string literal does not end it. */
export function findExpressions(text: string): { start: number; end: number; expression: string }[] {
  const found: { start: number; end: number; expression: string }[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf('${{', from);
    if (start === -1) return found;
    let i = start + 3;
    let inString = false;
    for (; i < text.length; i++) {
      if (text[i] === "'") inString = !inString;
      else if (!inString && text.startsWith('}}', i)) break;
    }
    if (i >= text.length) throw new ExpressionError(`"\${{" at offset ${start} is never closed with "}}"`);
    found.push({ start, end: i + 2, expression: text.slice(start + 3, i).trim() });
    from = i + 2;
  }
}

/** Replace every `${{ }}` in a text; a text that is one expression keeps the value's type. */
export function interpolate(text: string, ctx: EvalContext): Value {
  const parts = findExpressions(text);
  if (parts.length === 1 && parts[0]!.start === 0 && parts[0]!.end === text.length) {
    return evaluate(parts[0]!.expression, ctx);
  }
  let out = '';
  let at = 0;
  for (const part of parts) {
    out += text.slice(at, part.start) + stringify(evaluate(part.expression, ctx));
    at = part.end;
  }
  return out + text.slice(at);
}
