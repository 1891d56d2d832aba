/**
 * Domain errors: one base class with a stable string `code`. Adapters and the store throw these;
 * handlers turn them into outcomes in one place (`outcomeOfError`).
 */
export class TesseraError extends Error {
  readonly code: string = 'ERR_TESSERA';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A dependency (Redis, the hash pool) cannot answer now; the client may retry. */
export class UnavailableError extends TesseraError {
  override readonly code = 'ERR_UNAVAILABLE';
}

/** A user record or setting is not what it must be. */
export class InvalidStateError extends TesseraError {
  override readonly code = 'ERR_INVALID_STATE';
}

export function isUnavailable(err: unknown): boolean {
  return err instanceof TesseraError && err.code === 'ERR_UNAVAILABLE';
}
