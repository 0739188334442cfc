import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ApplyPolicyBody,
  DraftGateEvidenceSchema,
  EvaluationSchema,
  GateEvidenceResultSchema,
  LatestMetricsListSchema,
  PageSchema,
  RecordEvaluationBody,
} from '@berth/core';
import type { Registry } from '../../registry/registry.js';
import { actorOf } from '../actor.js';
import { toWireEvaluation, toWirePage, toWirePolicy } from './wire.js';

const VersionParams = Type.Object({ name: Type.String(), version: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }) });

export function evaluationRoutes(app: FastifyInstance, registry: Registry): void {
  app.post<{ Params: { name: string; version: number }; Body: RecordEvaluationBody }>(
    '/models/:name/versions/:version/evaluations',
    {
      schema: {
        summary: 'Record measured metrics for a version, with their source and dataset',
        tags: ['governance'],
        params: VersionParams,
        body: RecordEvaluationBody,
        response: { 201: EvaluationSchema },
      },
    },
    async (req, reply) =>
      reply.code(201).send(toWireEvaluation(await registry.evaluations.record(actorOf(req), req.params.name, req.params.version, req.body))),
  );

  app.get<{ Params: { name: string; version: number }; Querystring: { cursor?: string; limit?: number } }>(
    '/models/:name/versions/:version/evaluations',
    {
      schema: {
        summary: 'List the evaluations of a version, newest first',
        tags: ['governance'],
        params: VersionParams,
        querystring: Type.Object({ cursor: Type.Optional(Type.String()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })) }),
        response: { 200: PageSchema(EvaluationSchema) },
      },
    },
    async (req) => toWirePage(await registry.evaluations.list(req.params.name, req.params.version, req.query), toWireEvaluation),
  );

  app.get<{ Params: { name: string }; Querystring: { versions: string; at?: string } }>(
    '/models/:name/latest-metrics',
    {
      schema: {
        summary: 'The newest value of each evaluated metric for a page of versions (`versions=3,2,1`); with `at`, as recorded by then',
        tags: ['governance'],
        params: Type.Object({ name: Type.String() }),
        querystring: Type.Object({ versions: Type.String(), at: Type.Optional(Type.String()) }),
        response: { 200: LatestMetricsListSchema },
      },
    },
    async (req) => ({
      items: (await registry.evaluations.latestMetrics(req.params.name, req.query.versions, { at: req.query.at })).map((r) => ({
        ...r,
        recorded_at: r.recorded_at === null ? null : new Date(r.recorded_at).toISOString(),
      })),
    }),
  );

  app.get<{ Params: { name: string; version: number }; Querystring: { policy: string; policy_version?: number } }>(
    '/models/:name/versions/:version/gate-evidence',
    {
      schema: {
        summary: "What a policy's gates read for a version: the input of core's evaluateGates, as promotions assemble it",
        tags: ['governance'],
        params: VersionParams,
        querystring: Type.Object({ policy: Type.String(), policy_version: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 })) }),
        response: { 200: GateEvidenceResultSchema },
      },
    },
    async (req) => {
      const { policy, evidence } = await registry.promotions.evidence(req.params.name, req.params.version, req.query.policy, req.query.policy_version);
      return { policy: toWirePolicy(policy), evidence };
    },
  );

  app.post<{ Params: { name: string; version: number }; Body: ApplyPolicyBody }>(
    '/models/:name/versions/:version/gate-evidence',
    {
      schema: {
        summary: 'What the gates of a policy not yet applied (its YAML) read for a version; stores nothing',
        tags: ['governance'],
        params: VersionParams,
        body: ApplyPolicyBody,
        response: { 200: DraftGateEvidenceSchema },
      },
    },
    async (req) => registry.promotions.draftEvidence(req.params.name, req.params.version, req.body.yaml),
  );
}
