import { ERROR_CODES } from '@vuoro/engine';
import { describe, expect, it } from 'vitest';
import { ApiError, EDGE_CODES, problemTypeOf, titleOf } from './problems.js';

describe('problem details', () => {
  it('gives every engine and edge code a stable type, a title and its status', () => {
    for (const [code, status] of Object.entries({ ...ERROR_CODES, ...EDGE_CODES })) {
      const p = new ApiError(code as keyof typeof ERROR_CODES, 'Something specific happened; do this next.').toProblem('/x', 'req-1');
      expect(p.type).toBe(`https://vuoro.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`);
      expect(p.status).toBe(status);
      expect(p.title.length).toBeGreaterThan(3);
    }
    expect(problemTypeOf('NONEXISTENT_LOCAL_TIME')).toBe('https://vuoro.dev/problems/nonexistent-local-time');
    expect(titleOf('UNKNOWN_SERIES' as never)).toBe('Unknown series');
  });

  it('carries a domain refusal’s field and details', () => {
    const e = ApiError.fromDomain({ code: 'SLOT_CONFLICT', message: 'taken', field: 'start', details: { takenFrom: 'x' } });
    expect(e.toProblem()).toEqual({
      type: 'https://vuoro.dev/problems/slot-conflict',
      title: 'The slot is already taken',
      status: 409,
      detail: 'taken',
      code: 'SLOT_CONFLICT',
      field: 'start',
      errors: [{ field: 'start', in: 'body', message: 'taken' }],
      details: { takenFrom: 'x' },
    });
  });
});
