import { LumberjackDecoder } from '@siem/windows';

/**
 * Test and benchmark support (not exported from the package): the Windows adapter's own Lumberjack
 * decoder as the receiving end of the generator's Lumberjack sender, with generous limits. The
 * options and handler are built as plain values so this compiles against the decoder's handler
 * interface before and after it gained `error`/`idle` (errors returned from `push` or reported).
 */
export interface LumberjackEvents {
  window(size: number): void;
  event(seq: number, payload: Buffer): void;
}

export function lumberjackTestDecoder(
  events: LumberjackEvents,
  onError: (reason: string) => void,
): { push(chunk: Buffer): void } {
  const options = {
    maxFrameBytes: 1 << 26,
    maxWindowEvents: 1 << 20,
    maxDecompressedBytes: 1 << 28,
    maxCompressedEvents: 1 << 20,
  };
  const handler = {
    window: (size: number) => events.window(size),
    event: (seq: number, payload: Buffer) => events.event(seq, payload),
    error: onError,
    idle: () => undefined,
  };
  const decoder = new LumberjackDecoder(options, handler);
  return {
    push(chunk) {
      const r = decoder.push(chunk) as unknown;
      if (typeof r === 'string') onError(r);
    },
  };
}
