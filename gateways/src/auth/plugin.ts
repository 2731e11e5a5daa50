/**
 * Authentication and scopes. Every `/v1` route declares the scopes that may
 * call it (`config.scopes`, any one suffices) or that it is public
 * (`config.public`, e.g. the payment webhook, which checks a signature
 * instead); a route declaring neither fails at start, so nothing is exposed
 * by omission.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../http/problems.js';
import type { ApiKey, KeyStore, Scope } from './keys.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key the request authenticated with; null on public routes. */
    principal: ApiKey | null;
  }
  interface FastifyContextConfig {
    /** Any one of these scopes lets a key call the route. */
    scopes?: readonly Scope[];
    /** No API key needed (operations endpoints, docs, signed webhooks). */
    public?: boolean;
  }
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

export function principalOf(req: FastifyRequest): ApiKey {
  if (req.principal === null) throw new Error(`route ${req.routeOptions.url ?? req.url} used principalOf without authentication`);
  return req.principal;
}

export const hasScope = (key: ApiKey, scope: Scope): boolean => key.scopes.includes(scope);

/** Installs authentication on the root instance, so it covers every route. */
export function installAuth(app: FastifyInstance, opts: { keys: KeyStore }): void {
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1')) return;
    const config = route.config ?? {};
    if (config.public !== true && (config.scopes === undefined || config.scopes.length === 0)) {
      throw new Error(`route ${route.method} ${route.url} declares neither scopes nor public`);
    }
  });

  app.addHook('onRequest', async (req, reply) => {
    if (req.is404) return;
    const config = req.routeOptions.config;
    const scopes = config.scopes;
    if (config.public === true || scopes === undefined) return;
    const header = req.headers.authorization;
    const match = header === undefined ? null : BEARER.exec(header);
    if (match === null) {
      reply.header('www-authenticate', 'Bearer realm="vuoro"');
      throw new ApiError('UNAUTHORIZED', 'Send your API key as "Authorization: Bearer <key>". Ask the booking office for a key.');
    }
    const key = opts.keys.authenticate(match[1] as string);
    if (key === undefined) {
      reply.header('www-authenticate', 'Bearer realm="vuoro", error="invalid_token"');
      throw new ApiError('UNAUTHORIZED', 'This API key is not valid or has been revoked. Use a current key.');
    }
    req.principal = key;
    if (!scopes.some((s) => key.scopes.includes(s))) {
      throw new ApiError('INSUFFICIENT_SCOPE', `This needs an API key with the ${scopes.map((s) => `'${s}'`).join(' or ')} scope; yours has ${key.scopes.join(', ') || 'none'}.`, {
        details: { required: [...scopes], granted: key.scopes },
      });
    }
  });
}
