import { ConditionalCheckFailedException, DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoNotifyStore, MemoryNotifyStore } from '#shared/notify/notify-store.ts';

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

/** The claim and window behaviour both stores must have: what the notifier relies on. */
describe('MemoryNotifyStore', () => {
  it('leases a key until its lease runs out, counting the attempts', async () => {
    const store = new MemoryNotifyStore();
    expect(await store.claim('r1#placed', 0, 1000)).toEqual({ status: 'claimed', attempt: 1 });
    expect(await store.claim('r1#placed', 999, 1999)).toEqual({ status: 'held' });
    // The invocation that held it died: its lease ran out, the retry takes it.
    expect(await store.claim('r1#placed', 1000, 2000)).toEqual({ status: 'claimed', attempt: 2 });
  });

  it('lets a retry take a released lease at once, and finds a key marked done told, until it expires', async () => {
    const store = new MemoryNotifyStore();
    await store.claim('k', 0, 60_000);
    await store.release('k');
    expect(await store.claim('k', 1, 60_001)).toEqual({ status: 'claimed', attempt: 2 });
    await store.markDone('k', 2);
    await store.release('k');
    expect(await store.claim('k', 100_000, 160_000)).toEqual({ status: 'done' });
    expect(await store.claim('k', 2 + 24 * 60 * 60_000, 0)).toMatchObject({ status: 'claimed' });
  });

  it('counts in a window until it is closed, then gives the same count to every close and refuses more', async () => {
    const store = new MemoryNotifyStore();
    expect(await store.countInWindow('w', 0)).toEqual({ count: 1, flushQueued: false });
    await store.markFlushQueued('w', 0);
    expect(await store.countInWindow('w', 0, '203.0.113.5')).toEqual({ count: 2, flushQueued: true });
    expect(await store.closeWindow('w', 0)).toEqual({ count: 2, detail: '203.0.113.5' });
    expect(await store.countInWindow('w', 0)).toBeUndefined();
    expect(await store.closeWindow('w', 0)).toEqual({ count: 2, detail: '203.0.113.5' });
    expect(await store.countInWindow('w', 600_000)).toEqual({ count: 1, flushQueued: false });
    expect(await store.closeWindow('w', 1_200_000)).toBeUndefined();
  });
});

describe('DynamoNotifyStore', () => {
  const dynamo = mockClient(DynamoDBClient);
  const store = () => new DynamoNotifyStore(new DynamoDBClient({}), 'notify');
  const updates = () => dynamo.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);

  beforeEach(() => {
    dynamo.reset();
  });

  it('claims with one conditional UpdateItem: free, lapsed or expired only, counting the attempt', async () => {
    dynamo.on(UpdateItemCommand).resolves({ Attributes: { attempts: { N: '2' } } });

    expect(await store().claim('r1#placed', 5_000, 65_000)).toEqual({ status: 'claimed', attempt: 2 });
    expect(updates()).toEqual([
      {
        TableName: 'notify',
        Key: { pk: { S: 'r1#placed' } },
        UpdateExpression: 'SET #state = :leased, leaseUntil = :until, expiresAt = :expires ADD attempts :one',
        ConditionExpression:
          'attribute_not_exists(pk) OR expiresAt < :nowSeconds OR #state = :free OR (#state = :leased AND leaseUntil < :now)',
        ExpressionAttributeNames: { '#state': 'state' },
        ExpressionAttributeValues: {
          ':leased': { S: 'leased' },
          ':free': { S: 'free' },
          ':until': { N: '65000' },
          ':now': { N: '5000' },
          ':nowSeconds': { N: '5' },
          ':expires': { N: '86405' },
          ':one': { N: '1' },
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    ]);
  });

  it.each([
    ['done', { status: 'done' }],
    ['leased', { status: 'held' }],
  ])('tells a key it cannot claim apart by the item it found (%s)', async (state, claim) => {
    dynamo
      .on(UpdateItemCommand)
      .rejects(Object.assign(conditionFailed(), { Item: { pk: { S: 'k' }, state: { S: state } } }));
    expect(await store().claim('k', 0, 1)).toEqual(claim);
  });

  it('marks done unconditionally, for a day, and releases only a lease (never a mark)', async () => {
    dynamo.on(UpdateItemCommand).resolvesOnce({}).rejectsOnce(conditionFailed());
    await store().markDone('k', 5_000);
    await store().release('k');
    expect(updates()).toMatchObject([
      {
        UpdateExpression: 'SET #state = :done, expiresAt = :expires REMOVE leaseUntil',
        ExpressionAttributeValues: { ':done': { S: 'done' }, ':expires': { N: '86405' } },
      },
      { UpdateExpression: 'SET #state = :free REMOVE leaseUntil', ConditionExpression: '#state = :leased' },
    ]);
  });

  it('counts in an open window with one conditional UpdateItem per window, keeping the latest detail', async () => {
    dynamo.on(UpdateItemCommand).resolves({ Attributes: { eventCount: { N: '7' }, flushQueued: { BOOL: true } } });

    expect(await store().countInWindow('w', 600_000, '203.0.113.5')).toEqual({ count: 7, flushQueued: true });
    expect(updates()).toEqual([
      {
        TableName: 'notify',
        Key: { pk: { S: 'w#600000' } },
        UpdateExpression: 'SET expiresAt = :expires, lastDetail = :detail ADD eventCount :one',
        ConditionExpression: 'attribute_not_exists(windowClosed)',
        ExpressionAttributeValues: { ':one': { N: '1' }, ':expires': { N: '87000' }, ':detail': { S: '203.0.113.5' } },
        ReturnValues: 'ALL_NEW',
      },
    ]);
  });

  it('says a closed window takes no more events', async () => {
    dynamo.on(UpdateItemCommand).rejects(conditionFailed());
    expect(await store().countInWindow('w', 0)).toBeUndefined();
  });

  it('closes a window, returning its count, and nothing for a window nobody opened', async () => {
    dynamo
      .on(UpdateItemCommand)
      .resolvesOnce({ Attributes: { eventCount: { N: '20' }, lastDetail: { S: '198.51.100.7' } } })
      .rejectsOnce(conditionFailed());

    expect(await store().closeWindow('w', 0)).toEqual({ count: 20, detail: '198.51.100.7' });
    expect(await store().closeWindow('w', 600_000)).toBeUndefined();
    expect(updates()[0]).toMatchObject({
      Key: { pk: { S: 'w#0' } },
      UpdateExpression: 'SET windowClosed = :true',
      ConditionExpression: 'attribute_exists(pk)',
    });
  });

  it('notes a queued flush on an existing window only', async () => {
    dynamo.on(UpdateItemCommand).rejects(conditionFailed());
    await expect(store().markFlushQueued('w', 0)).resolves.toBeUndefined();
    expect(updates()[0]).toMatchObject({
      UpdateExpression: 'SET flushQueued = :true',
      ConditionExpression: 'attribute_exists(pk)',
    });
  });

  it('lets any other DynamoDB error through', async () => {
    dynamo.on(UpdateItemCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(store().claim('k', 0, 1)).rejects.toThrow('throttled');
    await expect(store().release('k')).rejects.toThrow('throttled');
  });
});
