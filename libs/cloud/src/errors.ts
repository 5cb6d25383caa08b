/** Why a body is refused (bounded: a metric label). */
export type CloudRefusal =
  | 'unknown_source_type'
  | 'unsupported_media_type'
  | 'unsupported_encoding'
  | 'empty_body'
  | 'body_too_large'
  | 'decoded_too_large'
  | 'bad_gzip'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_a_batch'
  | 'record_not_object'
  | 'record_too_large'
  | 'too_many_records'
  | 'too_deep'
  | 'busy'
  | 'stopped'
  | 'paused'
  | 'buffer_full'
  | 'buffer_closed'
  | 'buffer_rejected';

/** A request problem with its HTTP status and the reason it is counted under. */
export class CloudRequestError extends Error {
  readonly statusCode: 400 | 413 | 415;
  readonly reason: CloudRefusal;

  constructor(statusCode: 400 | 413 | 415, reason: CloudRefusal, message: string) {
    super(message);
    this.name = 'CloudRequestError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}
