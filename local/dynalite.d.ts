declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    maxItemSizeKb?: number;
    path?: string;
  }
  /** Creates (does not start) an HTTP server speaking the DynamoDB protocol. */
  export default function dynalite(options?: DynaliteOptions): Server;
}
