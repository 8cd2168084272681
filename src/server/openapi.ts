/**
 * @module server/openapi
 * The OpenAPI 3.1 document, generated from the routes' own schemas (the ones fastify validates
 * requests against), their roles and the bodies they accept.
 */
import { VERSION } from '../version.js';

export type Accepts = 'json' | 'upload' | 'bankfile';

export interface RouteDoc {
  method: string;
  url: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Roles allowed; 'public' needs no key. */
  roles: readonly string[] | 'public';
  accepts: readonly Accepts[];
  body?: Record<string, unknown>;
  /** The handler validates the JSON body itself (routes that also take uploads). */
  manualBody?: boolean;
  querystring?: Record<string, unknown>;
  params?: Record<string, unknown>;
  /** Schema of `data` in the success envelope, by status. */
  response?: Record<number, Record<string, unknown>>;
  /** A non-JSON success body (e.g. text/plain metrics, a bank file). */
  produces?: string[];
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['ok', 'error'],
  properties: {
    ok: { const: false },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'A WARD_ERR_* code (docs/errors.md)' },
        message: { type: 'string' },
        details: { type: 'object' },
      },
    },
  },
};

/** The success envelope around a data schema. */
export function envelope(data: Record<string, unknown>): Record<string, unknown> {
  return { type: 'object', required: ['ok', 'data'], properties: { ok: { const: true }, data } };
}

function strip(schema: Record<string, unknown>): Record<string, unknown> {
  // fastify-only keywords never reach the document.
  const { $id: _id, ...rest } = schema;
  return rest;
}

export function openApiDocument(routes: readonly RouteDoc[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [
      ['path', r.params],
      ['query', r.querystring],
    ] as const) {
      const props = (schema?.properties ?? {}) as Record<string, Record<string, unknown>>;
      const required = new Set((schema?.required as string[] | undefined) ?? []);
      for (const [name, s] of Object.entries(props)) {
        parameters.push({
          name,
          in: where,
          required: where === 'path' || required.has(name),
          ...(s.description ? { description: s.description } : {}),
          schema: s,
        });
      }
    }
    const content: Record<string, unknown> = {};
    if (r.body) content['application/json'] = { schema: strip(r.body) };
    if (r.accepts.includes('upload')) {
      const binary = { schema: { type: 'string', contentMediaType: 'application/octet-stream' } };
      content['application/octet-stream'] = binary;
      content['image/*'] = binary;
      content['multipart/form-data'] = {
        schema: {
          type: 'object',
          properties: { file: { type: 'string', contentMediaType: 'application/octet-stream' } },
        },
      };
    }
    if (r.accepts.includes('bankfile')) {
      for (const t of [
        'text/csv',
        'text/tab-separated-values',
        'application/x-ndjson',
        'text/plain',
        'application/octet-stream',
      ])
        content[t] = { schema: { type: 'string' } };
    }
    const responses: Record<string, unknown> = {};
    for (const [status, data] of Object.entries(r.response ?? { 200: {} })) {
      responses[status] = {
        description: Number(status) < 300 ? 'Success' : 'Response',
        content: r.produces
          ? Object.fromEntries(r.produces.map((t) => [t, { schema: { type: 'string' } }]))
          : { 'application/json': { schema: envelope(data) } },
      };
    }
    const errors: [number, string][] = [[400, 'Malformed request (WARD_ERR_REQUEST_INVALID and others)']];
    if (r.roles !== 'public') {
      errors.push([401, 'No key, or a bad one'], [403, 'The key role may not use this route'], [429, 'Rate limited']);
    }
    if (r.accepts.length > 0)
      errors.push([413, 'Body too large'], [415, 'Wrong Content-Type'], [408, 'Client too slow']);
    if (r.url.includes(':')) errors.push([404, 'Not found']);
    for (const [status, description] of errors) {
      responses[String(status)] ??= {
        description,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    }
    responses.default = {
      description: 'Error',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    const op: Record<string, unknown> = {
      operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/(^|[/_.-])([a-z0-9])/gi, (_m, _s, c: string) => c.toUpperCase())}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: r.tags,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(Object.keys(content).length > 0 ? { requestBody: { required: !r.url.endsWith('/match'), content } } : {}),
      responses,
      security: r.roles === 'public' ? [] : [{ bearer: [] }],
      ...(r.roles === 'public' ? {} : { 'x-ward-roles': r.roles }),
    };
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Ward',
      version: VERSION,
      description:
        'Find, block and report known child sexual abuse material by its fingerprints. Every response is ' +
        '`{"ok": true, "data": …}` or `{"ok": false, "error": {"code", "message"}}`. Send `Authorization: Bearer <key>`.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A Ward API key (ward keys create)' } },
      schemas: { Error: ERROR_SCHEMA },
    },
    paths,
  };
}
