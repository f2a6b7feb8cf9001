import {
  ABSENT,
  applyWrite,
  claim,
  type Settlement,
  settle,
} from '../../lambdas/shared/domain/event-lifecycle';
import type { RetryMessage } from '../../lambdas/shared/domain/retry-message';
import type { AttemptRecord, Ledger } from '../../lambdas/shared/ports';

/**
 * Records one call of an event and how it ended, through the same lifecycle transitions the redeliverer writes
 * (claim, then settle): how tests put an event in the ledger as delivered, exhausted or permanent.
 */
export async function recordCall(
  ledger: Ledger,
  message: RetryMessage,
  attempt: Omit<AttemptRecord, 'attempt'>,
  settlement: Settlement,
  now = new Date(),
): Promise<void> {
  const identity = {
    deliveryId: message.deliveryId,
    webhookId: message.webhookId,
    targetUrl: message.targetUrl,
  };
  const state = (await ledger.getEvent(message.eventKey)) ?? ABSENT;
  const budget = { budget: state.budget, spent: state.budgetAttempts, redrive: false };
  const claimWrite = claim(state, budget, attempt.messageId, now, 30);
  if ((await ledger.transition(message.eventKey, claimWrite, identity)).result !== 'applied') {
    throw new Error(`could not claim ${message.eventKey}`);
  }
  const claimed = applyWrite(state, claimWrite);
  const write = settle(
    claimed,
    attempt.messageId,
    { ...attempt, attempt: budget.spent + 1 },
    settlement,
    now,
  );
  if ((await ledger.transition(message.eventKey, write, identity)).result !== 'applied') {
    throw new Error(`could not settle ${message.eventKey}`);
  }
}
