/**
 * The app's audit log: appends go to the given log and a failed one is handed to
 * `onFailure` (the app logs the event itself, so the trail survives in the logs, and
 * counts it), then resolves. An action that happened is never reported as failed
 * because its audit line was lost, e.g. a revocation while Redis is full.
 */
import type { AuditEvent, AuditLog } from './types.js';

export function observedAudit(inner: AuditLog, onFailure: (err: unknown, event: AuditEvent) => void): AuditLog {
  return Object.freeze({
    async append(event: AuditEvent): Promise<void> {
      try {
        await inner.append(event);
      } catch (err) {
        onFailure(err, event);
      }
    },
  });
}
