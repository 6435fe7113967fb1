import { HISTORY_INDEXED, HISTORY_LIVE } from '../../../lambdas/adapters/message-ledger/history-reads';
import { type IndexSchema, TABLES } from '../../../lib/schema/tables';

const messages = TABLES.messages;
const index = (name: string): IndexSchema => {
  const found = messages.globalIndexes.find((candidate) => candidate.indexName === name);
  if (!found) throw new Error(`no index ${name}`);
  return found;
};
/** What a query of the index can return: the table key, the index keys and the projected attributes. */
const readable = (schema: IndexSchema) =>
  new Set([
    messages.partitionKey,
    schema.partitionKey,
    ...(schema.sortKey ? [schema.sortKey] : []),
    ...(schema.include ?? []),
  ]);

describe('messages table index projections carry what their queries read, and no more', () => {
  it('carries every attribute the email history reads on byTenant', () => {
    const carried = readable(index('byTenant'));
    expect(HISTORY_INDEXED.filter((attribute) => !carried.has(attribute))).toEqual([]);
  });

  it('carries nothing that changes after a record is created: its later writes cost no index write', () => {
    const changing = [...HISTORY_LIVE, 'updatedAt', 'reason', 'acceptedAt', 'sentAt', 'leaseUntil'];
    expect(index('byTenant').include?.filter((attribute) => changing.includes(attribute))).toEqual([]);
    expect(index('byPending').include).toEqual(['tenantId', 'category']);
  });

  it('never carries the large or often-rewritten attributes (timeline, feedback, request body, lease)', () => {
    for (const schema of messages.globalIndexes) {
      expect(schema.include).toBeDefined();
      for (const heavy of ['timeline', 'feedback', 'body', 'leaseToken', 'attempts']) {
        expect(schema.include).not.toContain(heavy);
      }
    }
  });
});
