/**
 * The payment provider's webhook. The provider signs the raw body
 * (HMAC-SHA256, see `http/signature.ts`, secret `PAYMENT_WEBHOOK_SECRET`);
 * the signature is checked before the body is even parsed, and a bad one is
 * a 401 problem. A `payment.succeeded` event records the payment, which
 * confirms the reservation; the provider's event id is the idempotency key,
 * so redeliveries change nothing.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiContext } from '../context.js';
import { ApiError, problemResponses } from '../http/problems.js';
import { id } from '../http/schemas.js';
import { SIGNATURE_HEADER, verify } from '../http/signature.js';
import { requireReservation } from '../reservations/query.js';

const PAYMENTS = { kind: 'system', name: 'payments' } as const;

const webhookBody = z
  .object({
    id: z.string().min(1).max(200).describe('The provider’s event id; a redelivery with the same id changes nothing'),
    type: z.string().min(1).max(100).describe('Only payment.succeeded changes anything; other types are acknowledged and ignored'),
    reservationId: id,
    amountCents: z.number().int().min(0),
    currency: z.literal('EUR'),
    paymentRef: z.string().min(1).max(200).optional().describe('The provider’s payment reference (defaults to the event id)'),
  })
  .strict();

const webhookResponse = z.object({
  received: z.literal(true),
  outcome: z.enum(['recorded', 'duplicate', 'ignored']),
  reservationId: z.string(),
  state: z.string().nullable(),
});

export async function paymentRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { engine, settings } = ctx;
  // The signature covers the exact bytes sent, so this plugin reads JSON bodies itself.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    const secret = settings.paymentWebhookSecret;
    if (secret === undefined) {
      done(new ApiError('INVALID_SIGNATURE', 'Payment webhooks are not configured on this server (PAYMENT_WEBHOOK_SECRET is unset).'), undefined);
      return;
    }
    const header = req.headers[SIGNATURE_HEADER];
    const check = verify(secret, raw as Buffer, Array.isArray(header) ? header.join(',') : header, ctx.clock() / 1000, settings.paymentWebhookToleranceSeconds);
    if (!check.ok) {
      done(new ApiError('INVALID_SIGNATURE', `The webhook was refused: ${check.reason}. Sign the raw body with the shared secret.`), undefined);
      return;
    }
    try {
      done(null, JSON.parse((raw as Buffer).toString('utf8')));
    } catch {
      done(new ApiError('MALFORMED_JSON', 'The body is not valid JSON.'), undefined);
    }
  });

  app.withTypeProvider<ZodTypeProvider>().post('/v1/payments/webhook', {
    schema: {
      tags: ['Payments'],
      summary: 'Payment provider webhook (signed)',
      security: [],
      description:
        'Header `Vuoro-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">` with the shared secret; a timestamp more than the tolerance away is refused. A payment that no longer matches a reservation awaiting payment (expired, wrong amount) is answered with a problem so the provider can refund.',
      body: webhookBody,
      response: { 200: webhookResponse, ...problemResponses(400, 401, 404, 409, 413, 415, 422) },
    },
    config: { public: true },
    handler: async (req) => {
      const b = req.body;
      if (b.type !== 'payment.succeeded') {
        req.log.info({ type: b.type, reservationId: b.reservationId }, 'payment webhook ignored');
        return { received: true as const, outcome: 'ignored' as const, reservationId: b.reservationId, state: null };
      }
      const outcome = await engine.execute(
        { type: 'RecordPayment', data: { reservationId: b.reservationId, paymentRef: b.paymentRef ?? b.id, amountCents: b.amountCents }, meta: { actor: PAYMENTS } },
        { idempotencyKey: `payments:${b.id}`, correlationId: req.id, channel: 'payments' },
      );
      ctx.metrics.commands.inc({ type: 'RecordPayment', outcome: outcome.ok ? (outcome.duplicate ? 'duplicate' : 'ok') : outcome.error.code });
      if (!outcome.ok) {
        req.log.warn({ code: outcome.error.code, reservationId: b.reservationId, paymentId: b.id }, 'payment not recorded: refund may be needed');
        throw ApiError.fromDomain(outcome.error);
      }
      const dto = await requireReservation(engine, b.reservationId);
      return { received: true as const, outcome: outcome.duplicate ? ('duplicate' as const) : ('recorded' as const), reservationId: b.reservationId, state: dto.state };
    },
  });
}
