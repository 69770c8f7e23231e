import type { AttributeValue, Item } from '#shared/lock/dynamodb.ts';

/**
 * The part of DynamoDB's expressions the fake store (local/aws-store.ts) evaluates. Conditions: comparisons
 * (`=`, `<>`, `<`, `<=`, `>`, `>=`) of attributes and `:values`, `attribute_exists(a)`, `attribute_not_exists(a)`,
 * `contains(a, :v)`, `AND`, `OR`, `NOT`, parentheses, and `#name` placeholders, as the service evaluates them. Updates:
 * `SET a = :v`, `ADD a :v` (a number added, a string set joined) and `DELETE a :v` (a string set's members taken out),
 * clauses separated as the service separates them. Anything else throws, so a test never passes on an expression the
 * fake misread.
 */

/** The attribute values and items the functions' DynamoDB client sends, as the JSON protocol carries them. */
export type { AttributeValue, Item };

export interface ExpressionValues {
  readonly names: Readonly<Record<string, string>>;
  readonly values: Readonly<Record<string, AttributeValue>>;
}

type Token = { kind: 'word'; text: string } | { kind: 'op'; text: string } | { kind: '(' | ')' | ',' };

const TOKEN = /\s*(?:(<>|<=|>=|=|<|>)|([(),])|([#:]?[A-Za-z_][A-Za-z0-9_]*))/y;

function tokenize(expression: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expression.length) {
    const start = TOKEN.lastIndex;
    const match = TOKEN.exec(expression);
    if (match === null) {
      if (expression.slice(start).trim() === '') break;
      throw new Error(`the fake DynamoDB cannot read the expression at: ${expression.slice(start)}`);
    }
    if (match[1] !== undefined) tokens.push({ kind: 'op', text: match[1] });
    else if (match[2] !== undefined) tokens.push({ kind: match[2] === '(' ? '(' : match[2] === ')' ? ')' : ',' });
    else tokens.push({ kind: 'word', text: match[3] ?? '' });
  }
  return tokens;
}

type Operand = AttributeValue | undefined;

function compare(left: Operand, operator: string, right: Operand): boolean {
  if (left === undefined || right === undefined) return false;
  const [a, b] =
    'N' in left && 'N' in right
      ? [Number(left.N), Number(right.N)]
      : 'S' in left && 'S' in right
        ? [left.S, right.S]
        : 'BOOL' in left && 'BOOL' in right
          ? [Number(left.BOOL), Number(right.BOOL)]
          : [undefined, undefined];
  if (a === undefined || b === undefined) return operator === '<>';
  switch (operator) {
    case '=':
      return a === b;
    case '<>':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
  }
  throw new Error(`the fake DynamoDB knows no operator ${operator}`);
}

/** Whether `item` (undefined: no such item) meets the condition. */
export function evaluateCondition(expression: string, item: Item | undefined, context: ExpressionValues): boolean {
  const tokens = tokenize(expression);
  let index = 0;
  const peek = () => tokens[index];
  const next = () => {
    const token = tokens[index++];
    if (token === undefined) throw new Error(`the expression ends early: ${expression}`);
    return token;
  };
  const expect = (kind: Token['kind']) => {
    const token = next();
    if (token.kind !== kind) throw new Error(`expected ${kind} in: ${expression}`);
  };
  const attributeName = (word: string) => {
    if (!word.startsWith('#')) return word;
    const name = context.names[word];
    if (name === undefined) throw new Error(`ExpressionAttributeNames has no ${word}`);
    return name;
  };
  const operand = (word: string): Operand => {
    if (word.startsWith(':')) {
      const value = context.values[word];
      if (value === undefined) throw new Error(`ExpressionAttributeValues has no ${word}`);
      return value;
    }
    return item?.[attributeName(word)];
  };

  const primary = (): boolean => {
    const token = next();
    if (token.kind === '(') {
      const value = disjunction();
      expect(')');
      return value;
    }
    if (token.kind !== 'word') throw new Error(`unexpected token in: ${expression}`);
    const word = token.text;
    if (word.toUpperCase() === 'NOT') return !primary();
    if (word === 'contains') {
      expect('(');
      const name = next();
      expect(',');
      const value = next();
      expect(')');
      if (name.kind !== 'word' || value.kind !== 'word') throw new Error(`expected contains(a, :v) in: ${expression}`);
      const container = operand(name.text);
      const member = operand(value.text);
      if (container === undefined || member === undefined || !('S' in member)) return false;
      if ('SS' in container) return container.SS.includes(member.S);
      return 'S' in container && container.S.includes(member.S);
    }
    if (word === 'attribute_exists' || word === 'attribute_not_exists') {
      expect('(');
      const name = next();
      expect(')');
      if (name.kind !== 'word') throw new Error(`expected an attribute in: ${expression}`);
      const exists = item?.[attributeName(name.text)] !== undefined;
      return word === 'attribute_exists' ? exists : !exists;
    }
    const operator = next();
    const right = next();
    if (operator.kind !== 'op' || right.kind !== 'word') throw new Error(`expected a comparison in: ${expression}`);
    return compare(operand(word), operator.text, operand(right.text));
  };
  const conjunction = (): boolean => {
    let value = primary();
    while (peek()?.kind === 'word' && (peek() as { text: string }).text.toUpperCase() === 'AND') {
      next();
      value = primary() && value;
    }
    return value;
  };
  const disjunction = (): boolean => {
    let value = conjunction();
    while (peek()?.kind === 'word' && (peek() as { text: string }).text.toUpperCase() === 'OR') {
      next();
      value = conjunction() || value;
    }
    return value;
  };

  const result = disjunction();
  if (index !== tokens.length) throw new Error(`the fake DynamoDB did not read all of: ${expression}`);
  return result;
}

/** `item` (undefined: a new one, holding only its key) after the update expression. */
export function applyUpdate(expression: string, item: Item, context: ExpressionValues): Item {
  const result: Record<string, AttributeValue> = { ...item };
  const name = (word: string) => {
    if (!word.startsWith('#')) return word;
    const named = context.names[word];
    if (named === undefined) throw new Error(`ExpressionAttributeNames has no ${word}`);
    return named;
  };
  const value = (word: string) => {
    const given = context.values[word];
    if (given === undefined) throw new Error(`ExpressionAttributeValues has no ${word}`);
    return given;
  };
  const clauses = expression
    .trim()
    .split(/\s*\b(SET|ADD|DELETE)\b\s*/i)
    .filter((part) => part !== '');
  if (clauses.length % 2 !== 0) throw new Error(`the fake DynamoDB cannot read the update: ${expression}`);
  for (let index = 0; index < clauses.length; index += 2) {
    const action = (clauses[index] ?? '').toUpperCase();
    for (const part of (clauses[index + 1] ?? '').split(',').map((text) => text.trim())) {
      const match =
        action === 'SET'
          ? /^([#A-Za-z_][A-Za-z0-9_]*)\s*=\s*(:[A-Za-z0-9_]+)$/.exec(part)
          : /^([#A-Za-z_][A-Za-z0-9_]*)\s+(:[A-Za-z0-9_]+)$/.exec(part);
      if (match === null) throw new Error(`the fake DynamoDB cannot read the ${action} clause: ${part}`);
      const attribute = name(match[1] ?? '');
      const operand = value(match[2] ?? '');
      const current = result[attribute];
      if (action === 'SET') {
        result[attribute] = operand;
      } else if ('N' in operand && action === 'ADD') {
        if (current !== undefined && !('N' in current))
          throw new Error(`ADD of a number to ${attribute}, not a number`);
        result[attribute] = { N: String(Number(current?.N ?? 0) + Number(operand.N)) };
      } else if ('SS' in operand) {
        if (current !== undefined && !('SS' in current))
          throw new Error(`${action} of a set to ${attribute}, not a set`);
        const members = current?.SS ?? [];
        const next =
          action === 'ADD'
            ? [...members, ...operand.SS.filter((member) => !members.includes(member))]
            : members.filter((member) => !operand.SS.includes(member));
        if (next.length === 0) delete result[attribute];
        else result[attribute] = { SS: next };
      } else {
        throw new Error(`the fake DynamoDB cannot ${action} ${attribute}`);
      }
    }
  }
  return result;
}
