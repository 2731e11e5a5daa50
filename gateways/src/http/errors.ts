/**
 * Every error becomes a problem+json response: refusals from the engine,
 * the edge's own errors, request validation (each offending field named),
 * and what fastify itself rejects (bad JSON, oversized or unsupported
 * bodies). Only a bug is a 500, and it is logged with the request id.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { ApiError, PROBLEM_CONTENT_TYPE, type FieldError } from './problems.js';

const WHERE: Record<string, FieldError['in']> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };
const NOUN: Record<string, string> = { body: 'body', querystring: 'query string', params: 'path', headers: 'headers' };

function fieldOf(instancePath: string, params: Record<string, unknown> | undefined): string {
  const path = instancePath.replace(/^\//, '').replaceAll('/', '.');
  // zod reports unknown keys on the object that holds them: name the keys themselves.
  const keys = params?.keys;
  if (Array.isArray(keys) && keys.length > 0) return keys.map((k) => (path === '' ? String(k) : `${path}.${String(k)}`)).join(', ');
  return path === '' ? '(root)' : path;
}

export function toApiError(error: FastifyError | Error, bodyLimit: number): ApiError {
  if (error instanceof ApiError) return error;
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = (error as { validationContext?: string }).validationContext ?? 'body';
    const errors: FieldError[] = error.validation.map((v) => ({
      field: fieldOf(v.instancePath, v.params as Record<string, unknown> | undefined),
      in: WHERE[context] ?? 'body',
      message: v.keyword === 'unrecognized_keys' ? `unknown field; remove it (${v.message ?? ''})` : (v.message ?? 'invalid'),
    }));
    const summary = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    return new ApiError('VALIDATION_FAILED', `The request ${NOUN[context] ?? context} is not valid. ${summary}. Fix these and send it again.`, {
      ...(errors[0] === undefined ? {} : { field: errors[0].field }),
      errors,
    });
  }
  const code = (error as FastifyError).code;
  switch (code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON with "Content-Type: application/json".');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('PAYLOAD_TOO_LARGE', `The body is larger than the ${bodyLimit} bytes this API accepts; send less.`);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('MALFORMED_JSON', 'The Content-Type says JSON but the body is empty; send a JSON object such as {}.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError('MALFORMED_JSON', `The body is not valid JSON (${error.message}); check quotes, commas and brackets.`);
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('BAD_REQUEST', 'The Content-Length does not match the body.');
    default:
      break;
  }
  if (error instanceof SyntaxError && (error as FastifyError).statusCode === 400) {
    return new ApiError('MALFORMED_JSON', `The body is not valid JSON (${error.message}); check quotes, commas and brackets.`);
  }
  const status = (error as FastifyError).statusCode;
  if (status !== undefined && status >= 400 && status < 500) return new ApiError('BAD_REQUEST', error.message);
  return new ApiError('INTERNAL_ERROR', 'Something went wrong on our side. Retry; if it keeps happening, tell us the requestId.');
}

export function sendProblem(req: FastifyRequest, reply: FastifyReply, error: ApiError): void {
  for (const [name, value] of Object.entries(error.extra.headers ?? {})) reply.header(name, value);
  reply
    .code(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(JSON.stringify(error.toProblem(req.url.split('?')[0], req.id)));
}

export function installErrorHandling(app: FastifyInstance, bodyLimit: number): void {
  app.setErrorHandler((error: FastifyError, req, reply) => {
    const apiError = toApiError(error, bodyLimit);
    if (apiError.status >= 500) {
      const serialization = isResponseSerializationError(error) ? { issues: error.cause.issues } : {};
      req.log.error({ err: error, ...serialization }, 'request failed');
    } else {
      req.log.info({ code: apiError.code, status: apiError.status }, apiError.message);
    }
    sendProblem(req, reply, apiError);
  });

  app.setNotFoundHandler((req, reply) => {
    sendProblem(req, reply, new ApiError('NOT_FOUND', `There is no ${req.method} ${req.url.split('?')[0]}. The API is described at /docs and /openapi.json.`));
  });
}
