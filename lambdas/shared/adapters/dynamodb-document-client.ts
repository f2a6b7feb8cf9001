import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** How a DynamoDB adapter gets its document client: injected (shared, or a test's), or configured; never both. */
export type DocumentClientOption =
  | { client: DynamoDBDocumentClient; clientConfig?: never }
  | { clientConfig?: DynamoDBClientConfig; client?: never };

/**
 * The document client every DynamoDB adapter uses, with undefined values dropped (items are built with optional
 * fields). One per process where it can be shared: each client builds its own connection pool at init.
 */
export function documentClient(option: DocumentClientOption = {}): DynamoDBDocumentClient {
  return (
    option.client ??
    DynamoDBDocumentClient.from(new DynamoDBClient(option.clientConfig ?? {}), {
      marshallOptions: { removeUndefinedValues: true },
    })
  );
}
