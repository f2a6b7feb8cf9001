import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { buildApp } from 'fauxqs';
import { deriveSettings } from '../lambdas/shared/derived-settings';
import type { PipelineSettings } from '../lambdas/shared/settings';

/** Emulators speak no IAM; the SDK still wants credentials and a region. */
const LOCAL_CLIENT = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export interface LocalAws {
  readonly sqsEndpoint: string;
  readonly dynamoDbEndpoint: string;
  readonly sqsConfig: SQSClientConfig;
  readonly dynamoDbConfig: DynamoDBClientConfig;
  readonly sqs: SQSClient;
  readonly doc: DynamoDBDocumentClient;
  readonly retryQueueUrl: string;
  readonly retryQueueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
  readonly tableName: string;
  stop(): Promise<void>;
}

/**
 * fauxqs on 127.0.0.1 only. Its `startFauxqs` listens on every interface (0.0.0.0) whatever `host` says, which
 * would let anyone on the network read the DLQ's payloads; its `buildApp` gives the same server, listened on here.
 */
async function startSqsEmulator(port: number): Promise<{ address: string; stop(): Promise<void> }> {
  const app = buildApp({ logger: false, host: '127.0.0.1' });
  const address = await app.listen({ port, host: '127.0.0.1' });
  return { address, stop: () => app.close() };
}

/**
 * Starts fauxqs (SQS) and dynalite (DynamoDB) on loopback and creates the retry queue, the DLQ with its
 * redrive policy and the ledger table with the values the CDK stack uses, derived from the same settings.
 */
export async function startLocalAws(
  settings: PipelineSettings,
  ports: { sqs: number; dynamoDb: number } = { sqs: 0, dynamoDb: 0 },
  /** Tests only: a shorter visibility timeout, so a crashed batch comes back in seconds rather than minutes. */
  visibilityTimeoutSeconds?: number,
): Promise<LocalAws> {
  const fauxqs = await startSqsEmulator(ports.sqs).catch((error: unknown) => {
    throw new Error(
      `Could not start the SQS emulator on port ${ports.sqs} (set LOCAL_SQS_PORT to use another)`,
      { cause: error },
    );
  });
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    dynamo.once('error', (error) =>
      reject(
        new Error(
          `Could not start the DynamoDB emulator on port ${ports.dynamoDb} (set LOCAL_DYNAMODB_PORT)`,
          {
            cause: error,
          },
        ),
      ),
    );
    dynamo.listen(ports.dynamoDb, '127.0.0.1', () => resolve());
  }).catch(async (error: unknown) => {
    await fauxqs.stop();
    throw error;
  });
  const dynamoDbEndpoint = `http://127.0.0.1:${(dynamo.address() as AddressInfo).port}`;
  const sqsConfig: SQSClientConfig = { ...LOCAL_CLIENT, endpoint: fauxqs.address };
  const dynamoDbConfig: DynamoDBClientConfig = { ...LOCAL_CLIENT, endpoint: dynamoDbEndpoint };
  const sqs = new SQSClient(sqsConfig);
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(dynamoDbConfig), {
    marshallOptions: { removeUndefinedValues: true },
  });
  const derived = deriveSettings(settings);

  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: derived.names.dlq,
      Attributes: {
        MessageRetentionPeriod: String(derived.dlqRetentionSeconds),
        MaximumMessageSize: '1048576',
      },
    }),
  );
  const dlqUrl = dlq.QueueUrl ?? '';
  const dlqAttributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
  );
  const dlqArn = dlqAttributes.Attributes?.QueueArn ?? '';
  const retry = await sqs.send(
    new CreateQueueCommand({
      QueueName: derived.names.retryQueue,
      Attributes: {
        VisibilityTimeout: String(visibilityTimeoutSeconds ?? derived.retryQueueVisibilitySeconds),
        MessageRetentionPeriod: String(derived.retryQueueRetentionSeconds),
        MaximumMessageSize: '1048576',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: derived.maxReceiveCount,
        }),
      },
    }),
  );
  const retryQueueUrl = retry.QueueUrl ?? '';
  const retryAttributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: retryQueueUrl, AttributeNames: ['QueueArn'] }),
  );
  await doc.send(
    new CreateTableCommand({
      TableName: derived.names.ledgerTable,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return {
    sqsEndpoint: fauxqs.address,
    dynamoDbEndpoint,
    sqsConfig,
    dynamoDbConfig,
    sqs,
    doc,
    retryQueueUrl,
    retryQueueArn: retryAttributes.Attributes?.QueueArn ?? '',
    dlqUrl,
    dlqArn,
    tableName: derived.names.ledgerTable,
    async stop() {
      sqs.destroy();
      doc.destroy();
      await fauxqs.stop();
      await new Promise<void>((resolve) => {
        dynamo.close(() => resolve());
        dynamo.closeAllConnections();
      });
    },
  };
}
