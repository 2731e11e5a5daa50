/**
 * Sending a command from an HTTP request to the engine: the idempotency key
 * namespaced by channel, the request id as correlation id, the channel in the
 * events' metadata, the outcome counted, a refusal turned into a problem.
 */
import type { Engine, EngineCommand, ExecuteOptions, RecordedEvent } from '@vuoro/engine';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { engineKeyOf } from '../idempotency/hooks.js';
import type { Metrics } from '../ops/metrics.js';
import { ApiError } from './problems.js';

export interface CommandContext {
  engine: Engine;
  metrics: Metrics;
}

export async function runCommand(
  ctx: CommandContext,
  req: FastifyRequest,
  reply: FastifyReply,
  command: EngineCommand,
  options: Pick<ExecuteOptions, 'siteId' | 'precondition'> = {},
): Promise<RecordedEvent[]> {
  const key = engineKeyOf(req);
  const channel = req.principal?.channelId;
  const outcome = await ctx.engine.execute(command, {
    ...options,
    ...(key === undefined ? {} : { idempotencyKey: key }),
    ...(channel === undefined ? {} : { channel }),
    correlationId: req.id,
  });
  ctx.metrics.commands.inc({ type: command.type, outcome: outcome.ok ? (outcome.duplicate ? 'duplicate' : 'ok') : outcome.error.code });
  if (!outcome.ok) throw ApiError.fromDomain(outcome.error);
  const last = outcome.events[outcome.events.length - 1];
  // Where this change sits in the global feed: resume `GET /v1/events?after=` from here to follow what happens next.
  if (last !== undefined) reply.header('vuoro-position', String(last.position));
  return outcome.events;
}
