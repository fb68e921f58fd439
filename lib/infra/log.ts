/**
 * Default logger for infrastructure helpers when the caller does not pass one.
 * Entry points pass their own (configured from LOG_LEVEL); this one only keeps the helpers usable alone.
 */
import { pino, type Logger } from 'pino';

let fallback: Logger | undefined;

export function infraLogger(): Logger {
  fallback ??= pino({ name: 'infra', level: 'warn' });
  return fallback;
}
