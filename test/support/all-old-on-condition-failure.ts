import { Readable } from 'node:stream';
import { DynamoDBClient, type DynamoDBClientConfig, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

/**
 * A DynamoDB client on dynalite that answers a refused conditional UpdateItem as DynamoDB does when asked
 * `ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`: the item on the ConditionalCheckFailedException's body.
 * dynalite accepts the option but returns no item; this adds it on the wire, so the SDK's own deserializer and
 * the document client see what they would see from DynamoDB (an item read just after the refusal, for a test).
 */
export function dynamoDbLikeDocumentClient(config: DynamoDBClientConfig): DynamoDBDocumentClient {
  const raw = new DynamoDBClient(config);
  const requestHandler = new AllOldOnConditionFailure(raw);
  return DynamoDBDocumentClient.from(new DynamoDBClient({ ...config, requestHandler }), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

class AllOldOnConditionFailure extends NodeHttpHandler {
  readonly #raw: DynamoDBClient;

  constructor(raw: DynamoDBClient) {
    super();
    this.#raw = raw;
  }

  override async handle(
    ...args: Parameters<NodeHttpHandler['handle']>
  ): ReturnType<NodeHttpHandler['handle']> {
    const [request] = args;
    const out = await super.handle(...args);
    const target = request.headers['x-amz-target'] ?? '';
    if (out.response.statusCode !== 400 || !target.endsWith('.UpdateItem')) return out;
    const text = await new Response(Readable.toWeb(out.response.body as Readable) as ReadableStream).text();
    const input = JSON.parse(String(request.body)) as Record<string, unknown>;
    const refused = text.includes('ConditionalCheckFailedException');
    let body = text;
    if (refused && input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
      const got = await this.#raw.send(
        new GetItemCommand({
          TableName: String(input.TableName),
          Key: input.Key as never,
          ConsistentRead: true,
        }),
      );
      if (got.Item) body = JSON.stringify({ ...(JSON.parse(text) as object), Item: got.Item });
    }
    const bytes = Buffer.from(body, 'utf8');
    out.response.headers = { ...out.response.headers, 'content-length': String(bytes.length) };
    out.response.body = Readable.from([bytes]);
    return out;
  }
}
