export type ReplayErrorCode = 'not_found' | 'invalid_input';

/** Why a replay could not be done; `code` is stable, the message is for people. */
export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  constructor(
    readonly code: ReplayErrorCode,
    message: string,
  ) {
    super(message);
  }
}
