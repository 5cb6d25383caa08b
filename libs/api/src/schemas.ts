import { eventCategories, eventOutcomes } from '@siem/core';

/** JSON schemas shared by the routes (fastify validates requests and serializes answers with them). */

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });

export const errorSchema = {
  type: 'object',
  description: 'An error: a stable code from the catalogue, a message, and details when there are some.',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string', description: 'SIEM_ERR_… code.' },
    message: { type: 'string' },
    details: {},
  },
  required: ['statusCode', 'code', 'message'],
} as const;

/** The error answers every protected route can give. */
export const errorResponses = {
  400: errorSchema,
  401: errorSchema,
  403: errorSchema,
  429: errorSchema,
} as const;

export const eventSchema = {
  type: 'object',
  description: 'A normalized event (ECS-aligned); times are UTC ISO 8601 with microseconds.',
  properties: {
    time: { type: 'string' },
    receivedAt: { type: 'string' },
    tenantId: { type: 'string' },
    eventId: { type: 'string' },
    sourceType: { type: 'string' },
    hostName: nullable('string'),
    hostIp: nullable('string'),
    appName: nullable('string'),
    severity: { type: 'integer', minimum: 0, maximum: 7 },
    category: { type: 'string', enum: [...eventCategories] },
    action: nullable('string'),
    outcome: { type: 'string', enum: [...eventOutcomes] },
    userName: nullable('string'),
    srcIp: nullable('string'),
    srcPort: nullable('integer'),
    dstIp: nullable('string'),
    dstPort: nullable('integer'),
    processName: nullable('string'),
    processPid: nullable('integer'),
    eventCode: nullable('string'),
    message: nullable('string'),
    attrs: { type: 'object', additionalProperties: true },
    raw: { type: 'string' },
    classUid: nullable('integer'),
  },
} as const;

export const adapterViewSchema = {
  type: 'object',
  properties: {
    id: { type: 'string', description: 'The adapter id (its key under `adapters` in the configuration).' },
    name: { type: 'string', description: 'The same as id (kept for clients of the first API version).' },
    type: { type: 'string', description: 'The adapter type (syslog_tcp, windows_events, …).' },
    state: { type: 'string', enum: ['stopped', 'starting', 'running', 'stopping', 'failed'] },
    listen: nullable('string', {
      description: 'udp://0.0.0.0:5514, tcp://[::]:5514, … ; null when not listening.',
    }),
    counters: { type: 'object', additionalProperties: { type: 'number' } },
    error: { type: 'string' },
    options: {
      type: 'object',
      additionalProperties: true,
      description: 'The options it runs with; secrets shown as "***".',
    },
  },
  required: ['id', 'name', 'type', 'state', 'listen', 'counters', 'options'],
} as const;

export const healthSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    checks: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        properties: {
          ok: { type: 'boolean' },
          detail: { type: 'string' },
          latency_ms: { type: 'number', description: 'How long the check took to answer, in milliseconds.' },
        },
      },
    },
  },
} as const;
