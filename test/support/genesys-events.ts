/** The partner event source of the shared document's example. */
export const GENESYS_EXAMPLE_SOURCE =
  'aws.partner/genesys.com/cloud/bb14bed0-f8f9-445d-b9d1-10cecb8569d6/quickstart-test';

/** The shared document's real example event (the presence blueprint's UserPresenceChange.json, trimmed). */
export const realExampleEvent = {
  version: '0',
  id: '4cbedb0f-4dfd-4c8e-9e57-0acded092527',
  'detail-type': 'v2.audits.entitytype.{id}.entityid.{id}',
  source: GENESYS_EXAMPLE_SOURCE,
  account: '123456789',
  time: '2021-06-25T15:11:52Z',
  region: 'us-east-1',
  resources: [],
  detail: {
    topicName: 'v2.audits.entitytype.UserPresence.entityid.278522be-1683-4877-8257-4164a177be89',
    version: '2',
    eventBody: { id: 'b8775049-0000', action: 'Update', entityType: 'UserPresence' },
    metadata: { CorrelationId: 'b61df0b3-9e33-444b-a455-1c92a33ef4e2-archival' },
    timestamp: '2021-06-25T15:11:52.435Z',
  },
};
