/**
 * The subset of CEL (github.com/google/cel-spec, langdef.md) that manifests/nad-policy.yaml uses,
 * evaluated as the API server's ValidatingAdmissionPolicy would: string, bool and null literals,
 * identifiers, field selection, map indexing, `has()`, `in` (a map's keys), `==`, `!=`, `!`, `&&`,
 * `||` and parentheses. `&&` and `||` absorb an error when the other side decides (CEL's
 * commutative logic); selecting a missing field or a field of null is an error. Anything outside
 * the subset throws at parse time, so a policy that grows beyond it fails its test loudly.
 */
import { isObject } from '../../daemon/cni-spec/json.ts';

export type Activation = Readonly<Record<string, unknown>>;
type Expr = (env: Activation) => unknown;

export class CelError extends Error {
  override name = 'CelError';
}

const TOKEN = /\s*(?:(\|\||&&|==|!=|[!.()[\]])|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([A-Za-z_]\w*))/y;

type Token = { kind: 'op' | 'ident'; text: string } | { kind: 'string'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < source.trimEnd().length) {
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(source);
    if (m === null) throw new CelError(`outside the supported CEL subset at ${at}: ${source.slice(at)}`);
    const [, op, single, double, ident] = m;
    if (op !== undefined) tokens.push({ kind: 'op', text: op });
    else if (ident !== undefined) tokens.push({ kind: 'ident', text: ident });
    else tokens.push({ kind: 'string', text: (single ?? double ?? '').replace(/\\(.)/g, '$1') });
  }
  return tokens;
}

function select(target: unknown, field: string): unknown {
  if (!isObject(target)) throw new CelError(`no such key: ${field} (on ${target === null ? 'null' : typeof target})`);
  if (!(field in target)) throw new CelError(`no such key: ${field}`);
  return target[field];
}

function bool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw new CelError(`${what}: not a bool`);
  return value;
}

/** CEL's `a || b` / `a && b`: the deciding value wins even if the other side is an error. */
function logical(left: Expr, right: Expr, decides: boolean, op: string): Expr {
  return (env) => {
    let failure: Error | undefined;
    try {
      if (bool(left(env), op) === decides) return decides;
    } catch (e) {
      failure = e instanceof Error ? e : new CelError(String(e));
    }
    if (bool(right(env), op) === decides) return decides;
    if (failure !== undefined) throw failure;
    return !decides;
  };
}

function equal(a: unknown, b: unknown): boolean {
  if (a === null || b === null) return a === b;
  if (isObject(a) || isObject(b) || Array.isArray(a) || Array.isArray(b)) throw new CelError('== on maps or lists is outside the subset');
  return a === b;
}

class Parser {
  #tokens: Token[];
  #at = 0;
  constructor(source: string) {
    this.#tokens = tokenize(source);
  }

  parse(): Expr {
    const expr = this.#or();
    if (this.#at !== this.#tokens.length) throw new CelError(`unexpected ${this.#tokens[this.#at]?.text ?? 'end'}`);
    return expr;
  }

  #peek(text: string): boolean {
    const token = this.#tokens[this.#at];
    return token !== undefined && token.kind !== 'string' && token.text === text;
  }

  #take(text: string): boolean {
    if (!this.#peek(text)) return false;
    this.#at++;
    return true;
  }

  #expect(text: string): void {
    if (!this.#take(text)) throw new CelError(`expected ${text}`);
  }

  #or(): Expr {
    let expr = this.#and();
    while (this.#take('||')) expr = logical(expr, this.#and(), true, '||');
    return expr;
  }

  #and(): Expr {
    let expr = this.#relation();
    while (this.#take('&&')) expr = logical(expr, this.#relation(), false, '&&');
    return expr;
  }

  #relation(): Expr {
    const left = this.#unary();
    if (this.#take('==')) {
      const right = this.#unary();
      return (env) => equal(left(env), right(env));
    }
    if (this.#take('!=')) {
      const right = this.#unary();
      return (env) => !equal(left(env), right(env));
    }
    if (this.#take('in')) {
      const right = this.#unary();
      return (env) => {
        const key = left(env);
        const map = right(env);
        if (typeof key !== 'string' || !isObject(map)) throw new CelError('in: only a string key in a map is supported');
        return key in map;
      };
    }
    return left;
  }

  #unary(): Expr {
    if (this.#take('!')) {
      const operand = this.#unary();
      return (env) => !bool(operand(env), '!');
    }
    return this.#postfix(this.#primary());
  }

  #postfix(start: Expr): Expr {
    let expr = start;
    for (;;) {
      if (this.#take('.')) {
        const field = this.#ident();
        const target = expr;
        expr = (env) => select(target(env), field);
      } else if (this.#take('[')) {
        const key = this.#or();
        this.#expect(']');
        const target = expr;
        expr = (env) => {
          const k = key(env);
          if (typeof k !== 'string') throw new CelError('only string map keys are supported');
          return select(target(env), k);
        };
      } else {
        return expr;
      }
    }
  }

  #ident(): string {
    const token = this.#tokens[this.#at++];
    if (token?.kind !== 'ident') throw new CelError(`expected an identifier, not ${token?.text ?? 'end'}`);
    return token.text;
  }

  #primary(): Expr {
    const token = this.#tokens[this.#at];
    if (token?.kind === 'string') {
      this.#at++;
      return () => token.text;
    }
    if (this.#take('(')) {
      const inner = this.#or();
      this.#expect(')');
      return inner;
    }
    const name = this.#ident();
    if (name === 'null') return () => null;
    if (name === 'true' || name === 'false') return () => name === 'true';
    if (name === 'has') {
      // has(e.f): whether the map e has the key f; e itself must evaluate.
      this.#expect('(');
      let target = this.#primary();
      const fields: string[] = [];
      while (this.#take('.')) fields.push(this.#ident());
      const field = fields.pop();
      if (field === undefined) throw new CelError('has() takes a field selection');
      for (const f of fields) {
        const inner = target;
        target = (env) => select(inner(env), f);
      }
      this.#expect(')');
      return (env) => {
        const value = target(env);
        if (!isObject(value)) throw new CelError(`has(): ${field} on ${value === null ? 'null' : typeof value}`);
        return field in value;
      };
    }
    if (this.#peek('(')) throw new CelError(`function ${name}() is outside the subset`);
    return (env) => {
      if (!(name in env)) throw new CelError(`undeclared reference to ${name}`);
      return env[name];
    };
  }
}

/** Compiles `source`; the result evaluates it against an activation (variable name to value). */
export function compileCel(source: string): Expr {
  return new Parser(source).parse();
}
