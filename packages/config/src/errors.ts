/** A setting or sources-file field that stops start-up. `message` is one line naming the field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** Where the problem is: an env var name, or a dotted path in the sources file. */
    readonly field: string,
    detail: string,
    readonly file?: string,
  ) {
    super(`${file ? `${file}: ` : ''}${field}: ${detail}`);
  }
}
