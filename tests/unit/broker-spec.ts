import { readFileSync } from 'node:fs';

/**
 * Reads one schema out of the official broker specs (OpenAPI YAML; the committed snapshot in docs/broker-specs/,
 * an extract of the components read here) and checks a JSON value against it: property names, required fields,
 * types, formats and enums. The project has no YAML dependency, so this reads the small, regular subset of YAML
 * those schema blocks use (block maps, block lists, quoted and plain scalars, block scalars, full-line comments);
 * `$ref`s and `allOf` are resolved.
 */

export type SpecFile = 'alor-WarpOpenAPIv2.yml' | 'tinvest-v2-openapi.yaml' | 'tinkoff-openapi-v1-swagger.yaml';

export const SPEC_DIR = new URL('../../docs/broker-specs/', import.meta.url);

type Yaml = string | Yaml[] | { [key: string]: Yaml };

interface Line {
  readonly indent: number;
  readonly text: string;
}

const fileLines = new Map<SpecFile, string[]>();

function linesOf(file: SpecFile): string[] {
  let lines = fileLines.get(file);
  if (lines === undefined) {
    lines = readFileSync(new URL(file, SPEC_DIR), 'utf8').split(/\r?\n/);
    fileLines.set(file, lines);
  }
  return lines;
}

function scalar(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('"') && trimmed.endsWith('"')) return JSON.parse(trimmed) as string;
  if (trimmed.startsWith("'") && trimmed.endsWith("'")) return trimmed.slice(1, -1).replaceAll("''", "'");
  return trimmed;
}

/** Splits `key: value` at the first colon outside quotes; undefined when the line is not a map entry. */
function splitEntry(text: string): [string, string] | undefined {
  const match = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^'"][^:]*?|[^:\s]+)\s*:(?:\s+(.*)|$)/.exec(text);
  if (!match) return undefined;
  return [scalar(match[1] ?? ''), match[2] ?? ''];
}

class Parser {
  #index = 0;
  constructor(private readonly lines: Line[]) {}

  parse(): Yaml {
    return this.#block(this.lines[0]?.indent ?? 0);
  }

  #block(indent: number): Yaml {
    const first = this.lines[this.#index];
    if (first === undefined || first.indent < indent) return '';
    return first.text.startsWith('- ') || first.text === '-' ? this.#list(first.indent) : this.#map(first.indent);
  }

  #list(indent: number): Yaml[] {
    const items: Yaml[] = [];
    for (let line = this.lines[this.#index]; line?.indent === indent && line.text.startsWith('-'); ) {
      const rest = line.text.slice(1).trimStart();
      if (rest !== '' && splitEntry(rest) !== undefined) {
        // A map item: its first entry sits after the dash, the others are indented to match it.
        const itemIndent = indent + (line.text.length - rest.length);
        this.lines[this.#index] = { indent: itemIndent, text: rest };
        items.push(this.#map(itemIndent));
      } else {
        this.#index++;
        items.push(rest === '' ? this.#block(indent + 1) : scalar(rest));
      }
      line = this.lines[this.#index];
    }
    return items;
  }

  #map(indent: number): Record<string, Yaml> {
    const map: Record<string, Yaml> = {};
    for (let line = this.lines[this.#index]; line?.indent === indent; line = this.lines[this.#index]) {
      const entry = splitEntry(line.text);
      if (entry === undefined) throw new Error(`unreadable YAML line: ${line.text}`);
      const [key, value] = entry;
      this.#index++;
      if (value === '') {
        const next = this.lines[this.#index];
        // A list may sit at the same indent as its key.
        map[key] =
          next !== undefined && (next.indent > indent || (next.indent === indent && next.text.startsWith('- ')))
            ? this.#block(next.indent)
            : '';
      } else if (/^[|>][-+]?$/.test(value)) {
        const text: string[] = [];
        while ((this.lines[this.#index]?.indent ?? -1) > indent) text.push(this.lines[this.#index++]?.text ?? '');
        map[key] = text.join('\n');
      } else if (value.startsWith('[') && value.endsWith(']')) {
        map[key] = value
          .slice(1, -1)
          .split(',')
          .map(scalar)
          .filter((item) => item !== '');
      } else {
        map[key] = scalar(value);
      }
    }
    return map;
  }
}

/** The YAML block of a named component (`    Name:` at indent 4), parsed. */
export function specComponent(file: SpecFile, name: string): Record<string, Yaml> {
  const lines = linesOf(file);
  const start = lines.indexOf(`    ${name}:`);
  if (start < 0) throw new Error(`${name} not found in ${file}`);
  const block: Line[] = [];
  for (let index = start + 1; index < lines.length; index++) {
    const raw = lines[index] ?? '';
    if (raw.trim() === '' || raw.trim().startsWith('#')) continue;
    const indent = raw.length - raw.trimStart().length;
    if (indent <= 4) break;
    block.push({ indent, text: raw.trim() });
  }
  const parsed = new Parser(block).parse();
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`${name} is not a map`);
  return parsed;
}

export interface SpecSchema {
  readonly type?: string;
  readonly format?: string;
  readonly enum?: readonly string[];
  readonly properties?: Readonly<Record<string, SpecSchema>>;
  readonly required?: readonly string[];
  /** An array's items. */
  readonly items?: SpecSchema;
}

function asMap(value: Yaml | undefined): Record<string, Yaml> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

/** A schema with `$ref`, `allOf` and request-body wrappers resolved. */
export function resolveSchema(file: SpecFile, node: Record<string, Yaml>): SpecSchema {
  const ref = node.$ref;
  if (typeof ref === 'string') {
    const name = ref.split('/').at(-1) ?? '';
    return resolveSchema(file, specComponent(file, name));
  }
  const content = asMap(asMap(node.content)['application/json']);
  if (content.schema !== undefined) return resolveSchema(file, asMap(content.schema));
  let merged: SpecSchema = {};
  if (Array.isArray(node.allOf)) {
    for (const part of node.allOf) merged = { ...merged, ...resolveSchema(file, asMap(part)) };
  }
  const properties = Object.fromEntries(
    Object.entries(asMap(node.properties)).map(([key, value]) => [key, resolveSchema(file, asMap(value))]),
  );
  const items = node.items === undefined ? undefined : resolveSchema(file, asMap(node.items));
  return {
    ...merged,
    ...(typeof node.type === 'string' ? { type: node.type } : {}),
    ...(items === undefined ? {} : { items }),
    ...(typeof node.format === 'string' ? { format: node.format } : {}),
    ...(Array.isArray(node.enum) ? { enum: node.enum.filter((item) => typeof item === 'string') } : {}),
    ...(Object.keys(properties).length > 0 ? { properties } : {}),
    ...(Array.isArray(node.required) ? { required: node.required.filter((item) => typeof item === 'string') } : {}),
  };
}

/** The resolved schema of a named component of a spec file. */
export function specSchema(file: SpecFile, name: string): SpecSchema {
  return resolveSchema(file, specComponent(file, name));
}

const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 };

/** Where `value` disagrees with `schema`, as `path: problem` lines; empty when it conforms. */
export function specViolations(value: unknown, schema: SpecSchema, path = '$'): string[] {
  const problems: string[] = [];
  const type = schema.type ?? (schema.properties !== undefined ? 'object' : undefined);
  switch (type) {
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [`${path}: not an object`];
      const record = value as Record<string, unknown>;
      for (const key of schema.required ?? []) if (!(key in record)) problems.push(`${path}.${key}: required`);
      for (const [key, nested] of Object.entries(record)) {
        const property = schema.properties?.[key];
        if (property === undefined) problems.push(`${path}.${key}: not in the spec`);
        else problems.push(...specViolations(nested, property, `${path}.${key}`));
      }
      return problems;
    }
    case 'string':
      if (typeof value !== 'string') return [`${path}: not a string`];
      if (schema.enum !== undefined && !schema.enum.includes(value)) problems.push(`${path}: not in the enum`);
      if (schema.format === 'int64' && !/^-?\d{1,19}$/.test(value)) problems.push(`${path}: not an int64 string`);
      return problems;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return [`${path}: not an integer`];
      if (schema.format === 'int32' && (value < INT32.min || value > INT32.max)) problems.push(`${path}: not int32`);
      return problems;
    case 'number':
      return typeof value === 'number' && Number.isFinite(value) ? [] : [`${path}: not a finite number`];
    case 'boolean':
      return typeof value === 'boolean' ? [] : [`${path}: not a boolean`];
    case 'array':
      if (!Array.isArray(value)) return [`${path}: not an array`];
      return value.flatMap((item, index) =>
        schema.items === undefined ? [] : specViolations(item, schema.items, `${path}[${index}]`),
      );
    default:
      return [`${path}: the spec gives no type`];
  }
}

/** The schemas the tests check broker requests and answers against: spec file and component name. */
export const CHECKED_SCHEMAS = {
  alorLimitOrderRequest: ['alor-WarpOpenAPIv2.yml', 'OrdersActionsLimitTVPost'],
  alorOrderResponse: ['alor-WarpOpenAPIv2.yml', 'response_OrderActionLimitMarket_CommandAPI'],
  alorOrderError: ['alor-WarpOpenAPIv2.yml', 'response_OrderActionCode400_CommandAPI'],
  tinvestPostOrderRequest: ['tinvest-v2-openapi.yaml', 'v1PostOrderRequest'],
  tinvestPostOrderResponse: ['tinvest-v2-openapi.yaml', 'v1PostOrderResponse'],
  tinvestInstrumentRequest: ['tinvest-v2-openapi.yaml', 'v1InstrumentRequest'],
  /** `v1InstrumentResponse` is `{ instrument: v1Instrument }`. */
  tinvestInstrument: ['tinvest-v2-openapi.yaml', 'v1Instrument'],
  tinkoffV1LimitOrderRequest: ['tinkoff-openapi-v1-swagger.yaml', 'LimitOrderRequest'],
  tinkoffV1LimitOrderResponse: ['tinkoff-openapi-v1-swagger.yaml', 'LimitOrderResponse'],
  tinkoffV1Error: ['tinkoff-openapi-v1-swagger.yaml', 'Error'],
  alorPortfolioSummary: ['alor-WarpOpenAPIv2.yml', 'response_Summary_Simple'],
  alorSecurity: ['alor-WarpOpenAPIv2.yml', 'response_Security_Simple'],
  tinvestAccount: ['tinvest-v2-openapi.yaml', 'v1Account'],
  tinvestGetInfoResponse: ['tinvest-v2-openapi.yaml', 'v1GetInfoResponse'],
  /** A v2 signal's calls (docs/contract.md#signals-ver-2). */
  alorMarketOrderRequest: ['alor-WarpOpenAPIv2.yml', 'OrdersActionsMarketTV'],
  alorPosition: ['alor-WarpOpenAPIv2.yml', 'response_Position_Simple'],
  alorOrder: ['alor-WarpOpenAPIv2.yml', 'response_Order_Simple'],
  tinvestPositionsResponse: ['tinvest-v2-openapi.yaml', 'v1PositionsResponse'],
  tinvestPositionsSecurities: ['tinvest-v2-openapi.yaml', 'v1PositionsSecurities'],
  tinvestGetOrdersRequest: ['tinvest-v2-openapi.yaml', 'v1GetOrdersRequest'],
  tinvestOrderState: ['tinvest-v2-openapi.yaml', 'contractv1OrderState'],
  tinvestCancelOrderRequest: ['tinvest-v2-openapi.yaml', 'v1CancelOrderRequest'],
  tinvestCancelOrderResponse: ['tinvest-v2-openapi.yaml', 'v1CancelOrderResponse'],
  /** Sizing and the guards (docs/contract.md#guards). */
  tinvestTradingStatusResponse: ['tinvest-v2-openapi.yaml', 'v1GetTradingStatusResponse'],
  tinvestPortfolioRequest: ['tinvest-v2-openapi.yaml', 'v1PortfolioRequest'],
  tinvestPortfolioResponse: ['tinvest-v2-openapi.yaml', 'v1PortfolioResponse'],
  tinvestMaxLotsRequest: ['tinvest-v2-openapi.yaml', 'v1GetMaxLotsRequest'],
  tinvestMaxLotsResponse: ['tinvest-v2-openapi.yaml', 'v1GetMaxLotsResponse'],
  tinvestLastPricesRequest: ['tinvest-v2-openapi.yaml', 'v1GetLastPricesRequest'],
  alorEstimateRequest: ['alor-WarpOpenAPIv2.yml', 'object_EstimateOrder'],
  alorEstimateResponse: ['alor-WarpOpenAPIv2.yml', 'response_EstimateOrder'],
  /** A protected entry's calls (docs/contract.md#protection). */
  alorStopOrderRequest: ['alor-WarpOpenAPIv2.yml', 'OrdersActionsStopMarketTVWarp'],
  /**
   * `OrderGroupCreate`: its `required` names `Orders` and `ExecutionPolicy` while its properties are `orders` and
   * `executionPolicy` (Alor's own SDK and terminal send both spellings; its .NET servers read names case-insensitively).
   */
  alorOrderGroupRequest: ['alor-WarpOpenAPIv2.yml', 'OrderGroupCreate'],
  alorOrderGroupResponse: ['alor-WarpOpenAPIv2.yml', 'response_OrderGroupCreationSuccess'],
  alorOrderGroupError: ['alor-WarpOpenAPIv2.yml', 'response_OrderGroupCreationError'],
  alorStopOrder: ['alor-WarpOpenAPIv2.yml', 'response_StopOrder_Warp_Simple'],
  alorTrade: ['alor-WarpOpenAPIv2.yml', 'response_Trade_Simple'],
  tinvestPostStopOrderRequest: ['tinvest-v2-openapi.yaml', 'v1PostStopOrderRequest'],
  tinvestPostStopOrderResponse: ['tinvest-v2-openapi.yaml', 'v1PostStopOrderResponse'],
  tinvestGetStopOrdersRequest: ['tinvest-v2-openapi.yaml', 'v1GetStopOrdersRequest'],
  tinvestStopOrder: ['tinvest-v2-openapi.yaml', 'v1StopOrder'],
  tinvestCancelStopOrderRequest: ['tinvest-v2-openapi.yaml', 'v1CancelStopOrderRequest'],
} as const satisfies Record<string, readonly [SpecFile, string]>;

export type CheckedSchema = keyof typeof CHECKED_SCHEMAS;

/**
 * Envelopes and empty requests of the preflight's read calls, read with `specSchema`: too small for the checked list
 * (every schema there has several properties), kept in the snapshot with what they reference.
 */
export const ENVELOPE_SCHEMAS = {
  tinvestGetAccountsRequest: ['tinvest-v2-openapi.yaml', 'v1GetAccountsRequest'],
  tinvestGetAccountsResponse: ['tinvest-v2-openapi.yaml', 'v1GetAccountsResponse'],
  tinvestGetInfoRequest: ['tinvest-v2-openapi.yaml', 'v1GetInfoRequest'],
  tinvestInstrumentResponse: ['tinvest-v2-openapi.yaml', 'v1InstrumentResponse'],
  tinvestPositionsRequest: ['tinvest-v2-openapi.yaml', 'v1PositionsRequest'],
  tinvestGetOrdersResponse: ['tinvest-v2-openapi.yaml', 'v1GetOrdersResponse'],
  tinvestTradingStatusRequest: ['tinvest-v2-openapi.yaml', 'v1GetTradingStatusRequest'],
  tinvestLastPricesResponse: ['tinvest-v2-openapi.yaml', 'v1GetLastPricesResponse'],
  tinvestGetStopOrdersResponse: ['tinvest-v2-openapi.yaml', 'v1GetStopOrdersResponse'],
  tinvestCancelStopOrderResponse: ['tinvest-v2-openapi.yaml', 'v1CancelStopOrderResponse'],
} as const satisfies Record<string, readonly [SpecFile, string]>;

/** Components broker-spec.test.ts reads to show the YAML reader at work; the snapshot keeps them too. */
export const PARSER_SAMPLES = {
  blockListAndQuotedScalars: ['tinvest-v2-openapi.yaml', 'v1OrderDirection'],
  blockScalar: ['alor-WarpOpenAPIv2.yml', 'field_SideCommon'],
} as const satisfies Record<string, readonly [SpecFile, string]>;

/**
 * The checked schemas as resolved from the spec snapshot, committed beside this file as plain JSON that a reviewer
 * can read; broker-spec.test.ts proves it equal to what the snapshot resolves to. `npm run spec-snapshot` rewrites
 * both from the full spec files.
 */
export const SNAPSHOT_FILE = new URL('broker-spec-schemas.json', import.meta.url);

let snapshot: Record<CheckedSchema, SpecSchema> | undefined;

export function checkedSchema(name: CheckedSchema): SpecSchema {
  snapshot ??= JSON.parse(readFileSync(SNAPSHOT_FILE, 'utf8')) as Record<CheckedSchema, SpecSchema>;
  return snapshot[name];
}

/** The checked schemas freshly resolved from the spec files. */
export function resolveCheckedSchemas(): Record<CheckedSchema, SpecSchema> {
  return Object.fromEntries(
    Object.entries(CHECKED_SCHEMAS).map(([key, [file, name]]) => [key, specSchema(file, name)]),
  ) as Record<CheckedSchema, SpecSchema>;
}

export interface CatalogueEntry {
  readonly message: string;
  /** The gRPC status. */
  readonly type: string;
  readonly description: string;
}

/** One code of T-Invest's error catalogue (the snapshot keeps the codes the code and the paper broker use). */
export function catalogueEntry(code: string): CatalogueEntry | undefined {
  const catalogue = JSON.parse(readFileSync(new URL('tinvest-v2-api_errors.json', SPEC_DIR), 'utf8'));
  return (catalogue as Record<string, CatalogueEntry>)[code];
}
