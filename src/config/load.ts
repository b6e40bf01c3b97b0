// Builds the frozen Config from an optional JSON file under config/ and the environment (env wins).
import { existsSync, readFileSync } from 'node:fs';
import { CONFIG_KEYS, configSchema, type Config, type ConfigInput } from './schema.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Keys of the environment livecue reads; anything else in the environment is ignored, not rejected. */
function pickKnown(env: NodeJS.ProcessEnv): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const value = env[key];
    if (value !== undefined) picked[key] = value;
  }
  return picked;
}

export function parseConfig(input: Record<string, unknown>): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const where = issue.path.join('.') || '(root)';
      if (issue.code === 'unrecognized_keys') return `unknown option(s) ${issue.keys.join(', ')}`;
      return `${where}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return Object.freeze(result.data);
}

/**
 * The config file (LIVECUE_CONFIG, default config/livecue.json when present) may hold any option;
 * unknown keys there are rejected so a typo never silently falls back to a default.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ConfigInput> = {}): Config {
  const filePath = env.LIVECUE_CONFIG ?? 'config/livecue.json';
  let fromFile: Record<string, unknown> = {};
  if (existsSync(filePath)) {
    try {
      fromFile = JSON.parse(readFileSync(filePath, 'utf8')) as Record<string, unknown>;
    } catch (error) {
      throw new ConfigError(`config file ${filePath} is not valid JSON: ${(error as Error).message}`);
    }
  } else if (env.LIVECUE_CONFIG) {
    throw new ConfigError(`config file ${filePath} (LIVECUE_CONFIG) does not exist`);
  }
  return parseConfig({ ...fromFile, ...pickKnown(env), ...overrides });
}
