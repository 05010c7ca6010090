/** A usage or input mistake: printed as one line (plus usage), exit code 2. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}
