import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoMessageLedger } from '../../../lambdas/adapters/message-ledger/dynamo-message-ledger';
import { testAws } from '../../support/env';
import { createScratchTable, deleteScratchTable } from '../../support/scratch-table';

/** Every command the ledger's client sends, with the items of its BatchWriteItem puts. */
const commands: { name: string; puts: string[] }[] = [];
/** When set, the next command waits for it before it leaves (a write that is still running). */
let hold: Promise<void> | undefined;
const dynamodb = new DynamoDBClient(testAws.dynamodb);
dynamodb.middlewareStack.add(
  (next, context) => async (args) => {
    type Key = string | { S?: string } | undefined;
    const input = args.input as {
      RequestItems?: Record<string, { PutRequest?: { Item?: { messageId?: Key } } }[]>;
    };
    const puts = Object.values(input.RequestItems ?? {})
      .flat()
      .map(({ PutRequest }) => PutRequest?.Item?.messageId)
      .map((key) => (typeof key === 'string' ? key : (key?.S ?? '')));
    commands.push({ name: String(context.commandName), puts });
    const held = hold;
    hold = undefined;
    if (held) await held;
    return next(args);
  },
  { step: 'initialize', name: 'recordLedgerCommands' },
);
const documents = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
let tableName: string;

beforeAll(async () => {
  tableName = await createScratchTable(dynamodb, 'messages', { label: 'kept-requests' });
});

afterAll(async () => {
  await deleteScratchTable(dynamodb, tableName);
  dynamodb.destroy();
});

describe('DynamoMessageLedger.keepRequest', () => {
  it('writes the bodies the sender keeps for one SQS batch in one BatchWriteItem, each kept when its call returns', async () => {
    const ledger = new DynamoMessageLedger(documents, { tableName, retentionDays: 30 });
    const ids = Array.from({ length: 12 }, (_, i) => `kept-${i}-${Date.now().toString(36)}`);
    commands.length = 0;

    // The records of one batch, worked on concurrently: each keeps its body, then reads it back at once.
    const readBack = await Promise.all(
      ids.map(async (id) => {
        await ledger.keepRequest(id, `{"n":"${id}"}`);
        const { Item } = await documents.send(
          new GetCommand({ TableName: tableName, Key: { messageId: `${id}#request` }, ConsistentRead: true }),
        );
        return Item;
      }),
    );

    expect(readBack.map((item) => item?.body)).toEqual(ids.map((id) => `{"n":"${id}"}`));
    expect(readBack.every((item) => typeof item?.expiresAt === 'number')).toBe(true);
    const writes = commands.filter((command) => command.name !== 'GetItemCommand');
    expect(writes.map((write) => write.name)).toEqual(['BatchWriteItemCommand']);
    expect([...(writes[0]?.puts ?? [])].sort()).toEqual(ids.map((id) => `${id}#request`).sort());
  });

  it('writes a body kept twice in one batch once, the later copy', async () => {
    const ledger = new DynamoMessageLedger(documents, { tableName, retentionDays: 30 });
    const id = `twice-${Date.now().toString(36)}`;
    commands.length = 0;

    await Promise.all([ledger.keepRequest(id, '{"copy":1}'), ledger.keepRequest(id, '{"copy":2}')]);

    expect(commands.map((command) => command.puts)).toEqual([[`${id}#request`]]);
    const { Item } = await documents.send(
      new GetCommand({ TableName: tableName, Key: { messageId: `${id}#request` }, ConsistentRead: true }),
    );
    expect(Item?.body).toBe('{"copy":2}');
  });

  it('gathers the bodies that arrive while a write runs into the next write', async () => {
    const ledger = new DynamoMessageLedger(documents, { tableName, retentionDays: 30 });
    const stamp = Date.now().toString(36);
    let release = () => {};
    hold = new Promise((resolve) => {
      release = resolve;
    });
    commands.length = 0;

    const first = ledger.keepRequest(`first-${stamp}`, '{"n":0}');
    while (commands.length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    // The first write is in flight: two bodies arrive, far enough apart to open two windows of their own.
    const second = ledger.keepRequest(`second-${stamp}`, '{"n":1}');
    await new Promise((resolve) => setTimeout(resolve, 30));
    const third = ledger.keepRequest(`third-${stamp}`, '{"n":2}');
    await new Promise((resolve) => setTimeout(resolve, 30));
    release();
    await Promise.all([first, second, third]);

    expect(commands.map((command) => command.puts.sort())).toEqual([
      [`first-${stamp}#request`],
      [`second-${stamp}#request`, `third-${stamp}#request`],
    ]);
  });
});
