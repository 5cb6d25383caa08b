import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { silentLogger } from './logger.js';

describe('silentLogger', () => {
  it('holds no file descriptor (pino would fsync it at exit: stdout, for any importer)', () => {
    const stream = (silentLogger as unknown as Record<symbol, { fd?: number }>)[pino.symbols.streamSym];
    expect(stream).toBeDefined();
    expect(stream!.fd).toBeUndefined();
    expect(silentLogger.isLevelEnabled('fatal')).toBe(false);
  });
});
