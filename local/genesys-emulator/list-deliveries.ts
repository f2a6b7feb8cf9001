import type { EmulatedDelivery } from './emulated-delivery';

/** A page-number listing, shaped as the platform shapes every paged collection. */
export interface DeliveryListing {
  entities: Record<string, unknown>[];
  pageSize: number;
  pageNumber: number;
  total: number;
  pageCount: number;
  firstUri: string;
  selfUri: string;
  nextUri?: string;
  previousUri?: string;
  lastUri: string;
}

export type ListOutcome = { ok: true; listing: DeliveryListing } | { ok: false; message: string };

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

function parseInstant(name: string, value: string | null): number | undefined | string {
  if (value === null) return undefined;
  const ms = Date.parse(value);
  if (!ISO_DATE_TIME.test(value) || Number.isNaN(ms)) {
    return `${name} must be an ISO-8601 date-time such as 2026-11-28T12:00:00.000Z (got "${value}")`;
  }
  return ms;
}

function parseInteger(name: string, value: string | null, def: number, min: number, max: number) {
  if (value === null) return def;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
    return `${name} must be a whole number from ${min} to ${max} (got "${value}")`;
  }
  return n;
}

/** A stable, date-unrelated order, so clients cannot come to rely on entries arriving oldest first. */
function scramble(id: string, salt: number): number {
  let h = 2166136261 ^ salt;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  return h >>> 0;
}

function publicView(d: EmulatedDelivery): Record<string, unknown> {
  const { listedAt: _hidden, ...visible } = d;
  return visible;
}

/** One webhook's entries with their instants parsed once, kept in paging order (by date, then id). */
export interface IndexedDelivery {
  readonly delivery: EmulatedDelivery;
  readonly createdMs: number;
  readonly listedMs: number;
}

/** Indexes entries for listDeliveries: parsing and sorting once keeps a 35,000-entry log fast to page. */
export function indexDeliveries(deliveries: readonly EmulatedDelivery[]): IndexedDelivery[] {
  return deliveries
    .map((delivery) => {
      const createdMs = Date.parse(delivery.dateCreated);
      return { delivery, createdMs, listedMs: Date.parse(delivery.listedAt ?? delivery.dateCreated) };
    })
    .sort((a, b) => a.createdMs - b.createdMs || a.delivery.id.localeCompare(b.delivery.id));
}

/**
 * Answers one delivery-log query: filterStatus, the [startDate, endDate) window on dateCreated, and page-number
 * paging. Entries whose `listedAt` is after `now` are not yet visible, as Genesys lists attempts late.
 */
export function listDeliveries(
  /** The webhook's entries, from indexDeliveries. */
  indexed: readonly IndexedDelivery[],
  webhookId: string,
  query: URLSearchParams,
  now: Date,
): ListOutcome {
  const status = query.get('filterStatus');
  if (status !== null && status !== 'failed' && status !== 'succeeded') {
    return { ok: false, message: `filterStatus must be failed or succeeded (got "${status}")` };
  }
  const start = parseInstant('startDate', query.get('startDate'));
  if (typeof start === 'string') return { ok: false, message: start };
  const end = parseInstant('endDate', query.get('endDate'));
  if (typeof end === 'string') return { ok: false, message: end };
  if (start !== undefined && end !== undefined && start > end) {
    return { ok: false, message: 'startDate must not be after endDate' };
  }
  const pageSize = parseInteger('pageSize', query.get('pageSize'), 25, 1, 100);
  if (typeof pageSize === 'string') return { ok: false, message: pageSize };
  const pageNumber = parseInteger('pageNumber', query.get('pageNumber'), 1, 1, Number.MAX_SAFE_INTEGER);
  if (typeof pageNumber === 'string') return { ok: false, message: pageNumber };

  const nowMs = now.getTime();
  const matching: EmulatedDelivery[] = [];
  // Paging itself is stable (by date, then id) so that, absent new entries, every entry is on exactly one
  // page; entries that arrive late shift later pages, as on the real platform.
  for (const { delivery, createdMs, listedMs } of indexed) {
    if (
      listedMs <= nowMs &&
      (status === null || delivery.status === status) &&
      (start === undefined || createdMs >= start) &&
      (end === undefined || createdMs < end)
    )
      matching.push(delivery);
  }

  const total = matching.length;
  const pageCount = Math.ceil(total / pageSize);
  const page = matching
    .slice((pageNumber - 1) * pageSize, pageNumber * pageSize)
    .sort((a, b) => scramble(a.id, pageNumber) - scramble(b.id, pageNumber))
    .map(publicView);

  const uri = (n: number) => {
    const q = new URLSearchParams();
    if (status !== null) q.set('filterStatus', status);
    if (start !== undefined) q.set('startDate', new Date(start).toISOString());
    if (end !== undefined) q.set('endDate', new Date(end).toISOString());
    q.set('pageSize', String(pageSize));
    q.set('pageNumber', String(n));
    return `/api/v2/webhooks/${encodeURIComponent(webhookId)}/deliveries?${q.toString()}`;
  };
  const listing: DeliveryListing = {
    entities: page,
    pageSize,
    pageNumber,
    total,
    pageCount,
    firstUri: uri(1),
    selfUri: uri(pageNumber),
    lastUri: uri(Math.max(1, pageCount)),
  };
  if (pageNumber < pageCount) listing.nextUri = uri(pageNumber + 1);
  if (pageNumber > 1) listing.previousUri = uri(Math.min(pageNumber - 1, Math.max(1, pageCount)));
  return { ok: true, listing };
}
