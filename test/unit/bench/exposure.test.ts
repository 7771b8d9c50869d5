/**
 * The strategies benchmark's figures from an ALB request log (bench/strategies/exposure.ts):
 * which production requests a revision served, and when production had moved for good.
 */
import { describe, expect, it } from '@jest/globals';
import { cutOverAt, exposure, median, type ServedRequest } from '../../../bench/strategies/exposure.js';

const OLD = { api: 'arn:td/alva-api:1', web: 'arn:td/alva-web:1' };
const NEW = { api: 'arn:td/alva-api:2', web: 'arn:td/alva-web:2' };
let seq = 0;
const req = (
  time: number,
  service: 'api' | 'web',
  revision: 'old' | 'new',
  extra: Partial<ServedRequest> = {},
): ServedRequest => ({
  seq: ++seq,
  time,
  listenerPort: 80,
  status: 200,
  service: `alva-${service}`,
  taskDefinitionArn: (revision === 'old' ? OLD : NEW)[service],
  ...extra,
});

describe('exposure', () => {
  it('counts the production requests the revision answered, its 5xx and the span from the first to the last', () => {
    const log = [
      req(1000, 'api', 'old'),
      req(2000, 'api', 'new', { status: 500 }),
      req(2500, 'web', 'new'),
      req(3000, 'api', 'new', { status: 500 }),
      req(3500, 'api', 'new', { listenerPort: 9000, status: 500 }), // test listener: not production
      req(4000, 'api', 'old'),
    ];
    expect(exposure(log, 80, [NEW.api])).toEqual({
      total: 5,
      served: 2,
      errors: 2,
      firstMs: 2000,
      lastMs: 3000,
      spanMs: 1000,
    });
    expect(exposure(log, 80, [NEW.api, NEW.web]).served).toBe(3);
  });

  it('is zero, with no span, when the revision answered no production request (a gated green)', () => {
    const log = [
      req(1000, 'api', 'old'),
      req(2000, 'api', 'new', { listenerPort: 9000 }),
      req(3000, 'api', 'old'),
      { seq: ++seq, time: 3500, listenerPort: 80, status: 404 }, // the listener's fixed response: no target
    ];
    expect(exposure(log, 80, [NEW.api])).toEqual({ total: 3, served: 0, errors: 0, spanMs: 0 });
  });
});

describe('cutOverAt', () => {
  it("is the last production request any service's old revision answered", () => {
    const log = [
      req(1000, 'api', 'old'),
      req(1500, 'web', 'old'),
      req(2000, 'api', 'new'),
      req(2500, 'api', 'old'), // both revisions serve while old tasks drain
      req(3000, 'web', 'new'),
      req(3500, 'api', 'new'),
      req(4000, 'web', 'new'),
    ];
    expect(cutOverAt(log, 80, { 'alva-api': NEW.api, 'alva-web': NEW.web })).toBe(2500);
  });

  it('is undefined when a service ends on its old revision, or has no request logged', () => {
    const log = [req(1000, 'api', 'new'), req(2000, 'web', 'new'), req(3000, 'web', 'old')];
    expect(cutOverAt(log, 80, { 'alva-api': NEW.api, 'alva-web': NEW.web })).toBeUndefined();
    expect(cutOverAt(log, 80, { 'alva-auth': 'arn:td/alva-auth:2' })).toBeUndefined();
  });

  it("is the first request's time when every request already reached the new revision", () => {
    const log = [req(1000, 'api', 'new'), req(2000, 'api', 'new')];
    expect(cutOverAt(log, 80, { 'alva-api': NEW.api })).toBe(1000);
  });
});

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
