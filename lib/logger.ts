import { pino, type Logger, type LoggerOptions } from 'pino';
import type { Config } from './config.js';

/** One logger configuration for API, worker and scripts: JSON lines, secrets redacted. */
export function loggerOptions(config: Pick<Config, 'logLevel'>): LoggerOptions {
  return {
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.apiKey', '*.password'],
      censor: '[redacted]',
    },
  };
}

export function createLogger(config: Pick<Config, 'logLevel'>, name?: string): Logger {
  return pino({ ...loggerOptions(config), ...(name ? { name } : {}) });
}
