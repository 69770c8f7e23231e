/**
 * A setting that cannot be used: an environment variable of a function or of the local run, or a CDK context key.
 * The message names the setting and the rule it breaks; it never quotes a secret value.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
