import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoNotifyStore, MemoryNotifyStore } from '#shared/notify/notify-store.ts';

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

describe('MemoryNotifyStore', () => {
  it('grants a claim once while it lives, again once it expired or was released', async () => {
    const store = new MemoryNotifyStore();
    expect(await store.claim('r1#placed', 0, 1000)).toBe(true);
    expect(await store.claim('r1#placed', 999, 1999)).toBe(false);
    expect(await store.claim('r1#placed', 1000, 2000)).toBe(true);
    await store.release('r1#placed');
    expect(await store.claim('r1#placed', 1001, 2001)).toBe(true);
  });

  it('counts in one window until it is flushed once, then opens the next', async () => {
    const store = new MemoryNotifyStore();
    expect(await store.countInWindow('w', 0, 1000)).toEqual({ windowStart: 0, count: 1, opened: true });
    expect(await store.countInWindow('w', 10, 1000)).toEqual({ windowStart: 0, count: 2, opened: false });
    expect(await store.flushWindow('w', 0)).toBe(2);
    expect(await store.flushWindow('w', 0)).toBeUndefined();
    expect(await store.countInWindow('w', 20, 1000)).toEqual({ windowStart: 20, count: 1, opened: true });
  });

  it('replaces a window whose flush never came once it is stale', async () => {
    const store = new MemoryNotifyStore();
    await store.countInWindow('w', 0, 1000);
    expect(await store.countInWindow('w', 1000, 1000)).toEqual({ windowStart: 1000, count: 1, opened: true });
    expect(await store.flushWindow('w', 0)).toBeUndefined();
  });
});

describe('DynamoNotifyStore', () => {
  const dynamo = mockClient(DynamoDBClient);
  const store = () => new DynamoNotifyStore(new DynamoDBClient({}), 'notify');

  beforeEach(() => {
    dynamo.reset();
  });

  it('claims with a conditional PutItem that treats an expired item as absent, and says false when it is held', async () => {
    dynamo.on(PutItemCommand).resolvesOnce({}).rejectsOnce(conditionFailed());

    expect(await store().claim('r1#placed', 5_000, 86_405_000)).toBe(true);
    expect(await store().claim('r1#placed', 6_000, 86_406_000)).toBe(false);
    expect(dynamo.commandCalls(PutItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'notify',
      Item: { pk: { S: 'r1#placed' }, expiresAt: { N: '86405' } },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
      ExpressionAttributeValues: { ':now': { N: '5' } },
    });
  });

  it('releases with DeleteItem', async () => {
    await store().release('r1#placed');
    expect(dynamo.commandCalls(DeleteItemCommand)[0]?.args[0].input).toEqual({
      TableName: 'notify',
      Key: { pk: { S: 'r1#placed' } },
    });
  });

  it('counts in the open window with one conditional UpdateItem', async () => {
    dynamo.on(UpdateItemCommand).resolves({ Attributes: { windowStart: { N: '100' }, eventCount: { N: '7' } } });

    expect(await store().countInWindow('w', 200, 1000)).toEqual({ windowStart: 100, count: 7, opened: false });
    expect(dynamo.commandCalls(UpdateItemCommand)[0]?.args[0].input).toMatchObject({
      ConditionExpression: 'attribute_exists(pk) AND flushed = :false AND windowStart > :staleBefore',
      ExpressionAttributeValues: { ':staleBefore': { N: '-800' } },
    });
    expect(dynamo.commandCalls(PutItemCommand)).toHaveLength(0);
  });

  it('opens a window with a conditional PutItem when none is open', async () => {
    dynamo.on(UpdateItemCommand).rejects(conditionFailed());
    dynamo.on(PutItemCommand).resolves({});

    expect(await store().countInWindow('w', 5_000, 1000)).toEqual({ windowStart: 5_000, count: 1, opened: true });
    expect(dynamo.commandCalls(PutItemCommand)[0]?.args[0].input).toMatchObject({
      Item: { pk: { S: 'w' }, windowStart: { N: '5000' }, eventCount: { N: '1' }, flushed: { BOOL: false } },
      ConditionExpression: 'attribute_not_exists(pk) OR flushed = :true OR windowStart <= :staleBefore',
    });
  });

  it('counts in the window another invocation opened between its two writes', async () => {
    dynamo
      .on(UpdateItemCommand)
      .rejectsOnce(conditionFailed())
      .resolvesOnce({ Attributes: { windowStart: { N: '4999' }, eventCount: { N: '2' } } });
    dynamo.on(PutItemCommand).rejects(conditionFailed());

    expect(await store().countInWindow('w', 5_000, 1000)).toEqual({ windowStart: 4_999, count: 2, opened: false });
  });

  it('flushes a window once: the count, then nothing', async () => {
    dynamo
      .on(UpdateItemCommand)
      .resolvesOnce({ Attributes: { windowStart: { N: '100' }, eventCount: { N: '20' } } })
      .rejectsOnce(conditionFailed());

    expect(await store().flushWindow('w', 100)).toBe(20);
    expect(await store().flushWindow('w', 100)).toBeUndefined();
    expect(dynamo.commandCalls(UpdateItemCommand)[0]?.args[0].input).toMatchObject({
      UpdateExpression: 'SET flushed = :true',
      ConditionExpression: 'windowStart = :windowStart AND flushed = :false',
    });
  });

  it('lets any other DynamoDB error through', async () => {
    dynamo.on(PutItemCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(store().claim('k', 0, 1)).rejects.toThrow('throttled');
  });
});
