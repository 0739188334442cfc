/**
 * One error type for every rule in Berth. Codes follow DESIGN §4; the two tables below are
 * exhaustive over `ErrorCode`, so adding a code without a status or exit code fails to compile.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'CONFLICT'
  | 'FAILED_PRECONDITION'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL';

export const HTTP_STATUS: { readonly [K in ErrorCode]: number } = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  CONFLICT: 409,
  FAILED_PRECONDITION: 412,
  PAYLOAD_TOO_LARGE: 413,
  INTERNAL: 500,
};

/** CLI exit codes (DESIGN §6): 0 ok, 1 failure, 2 usage, 3 not found, 4 conflict. */
export const EXIT_CODE: { readonly [K in ErrorCode]: number } = {
  INVALID_ARGUMENT: 2,
  UNAUTHENTICATED: 1,
  PERMISSION_DENIED: 1,
  NOT_FOUND: 3,
  ALREADY_EXISTS: 4,
  CONFLICT: 4,
  FAILED_PRECONDITION: 1,
  PAYLOAD_TOO_LARGE: 2,
  INTERNAL: 1,
};

export const ERROR_CODES = Object.keys(HTTP_STATUS) as ErrorCode[];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(HTTP_STATUS, value);
}

export type ErrorDetails = Record<string, unknown>;

/** Longest run of non-blank characters a message keeps whole (names, paths, URLs echoed from input). */
export const MAX_ECHO_CHARS = 100;

/**
 * Shortens every run of non-blank characters longer than MAX_ECHO_CHARS to its start and its
 * length (`aaaa…(10000 characters)`), so a message never echoes a hostile input whole. Applied
 * where every error message is made, whatever interpolated the input into it.
 */
export function clipEcho(message: string): string {
  return message.replace(new RegExp(`\\S{${MAX_ECHO_CHARS + 21},}`, 'g'), (run) => `${run.slice(0, MAX_ECHO_CHARS)}…(${run.length} characters)`);
}

export class BerthError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(clipEcho(message));
    this.name = 'BerthError';
    this.code = code;
    // Details echo input too (the refused name, path or value): long strings are clipped alike.
    this.details = Object.fromEntries(Object.entries(details).map(([k, v]) => [k, typeof v === 'string' ? clipEcho(v) : v]));
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  toJSON(): { error: { code: ErrorCode; message: string; details: ErrorDetails } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

export function invalid(message: string, details?: ErrorDetails): BerthError {
  return new BerthError('INVALID_ARGUMENT', message, details);
}

export function notFound(message: string, details?: ErrorDetails): BerthError {
  return new BerthError('NOT_FOUND', message, details);
}
