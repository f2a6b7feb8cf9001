/** Where the intake takes EventBridge events from: one Genesys partner source, one account. */
export interface ExpectedOrigin {
  /** The partner event source; @default - any (local mode, which filters by the Genesys prefix) */
  readonly source?: string | undefined;
  /** The account the event must name (the intake's own); @default - any */
  readonly account?: string | undefined;
}

/** Longest quotation of a source or account from an event inside a refusal reason. */
const QUOTE_CHARS = 120;

const quote = (value: unknown) =>
  typeof value === 'string' ? JSON.stringify(value.slice(0, QUOTE_CHARS)) : 'none';

/**
 * Why an event must not be taken in, or undefined: it names another partner source or another account than the
 * stack's. The rules already take only those; this holds when a rule is edited by hand, or a bus given by name
 * lets another source or account put events on it. Pure.
 */
export function originRefusal(
  event: { readonly source: string; readonly account?: string | undefined },
  expected: ExpectedOrigin,
): string | undefined {
  if (expected.source !== undefined && event.source !== expected.source) {
    return `event source ${quote(event.source)} is not this stack's Genesys partner event source ${quote(expected.source)}: refused`;
  }
  if (expected.account !== undefined && event.account !== expected.account) {
    return `event account ${quote(event.account)} is not this stack's account ${quote(expected.account)}: refused`;
  }
  return undefined;
}

/** The account of a Lambda function ARN (`arn:aws:lambda:<region>:<account>:function:<name>`), if it has one. */
export function accountOfArn(arn: string): string | undefined {
  const account = arn.split(':')[4];
  return account !== undefined && /^\d{12}$/.test(account) ? account : undefined;
}
