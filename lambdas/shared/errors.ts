/**
 * The project's small error hierarchy. Every error keeps its `cause` so the original failure is never lost.
 */
export class WebhookRecoveryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A setting is missing or out of range; thrown once at cold start, never on a record. */
export class ConfigError extends WebhookRecoveryError {}

/** Redelivery failed in a way that may succeed later (5xx, 408, 425, 429, network error, timeout). */
export class RetryableDeliveryError extends WebhookRecoveryError {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The target's host took no connection at all (refused, no such name, connect timeout, no route): the host's
 * failure, never the event's.
 */
export class TargetUnreachableError extends RetryableDeliveryError {}

/**
 * Nothing was sent: a failure on our side before the call (the signing key could not be read). Spends no retry
 * budget and tells the target gate nothing; the event waits `retryAfterSeconds` and goes again.
 */
export class DeliveryNotSentError extends WebhookRecoveryError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Redelivery can never succeed as it stands (other 4xx, 3xx, invalid target, malformed message). */
export class PermanentDeliveryError extends WebhookRecoveryError {}

/** Genesys Cloud answered with an error (ErrorBody) or could not be reached. */
export class GenesysApiError extends WebhookRecoveryError {
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    readonly correlationId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An operator command cannot go on (stack or queue not found, no credentials, confirmation refused). */
export class OperatorError extends WebhookRecoveryError {}
