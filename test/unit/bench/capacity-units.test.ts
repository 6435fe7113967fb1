import {
  indexWriteUnits,
  itemSize,
  readUnits,
  type TableShape,
  writeUnits,
} from '../../../bench/capacity-units';

// Rules and examples from the DynamoDB Developer Guide: "Item sizes and formats" (CapacityUnitCalculations),
// "Read/write capacity unit consumption" and "Provisioned throughput considerations for Global Secondary Indexes".
const table: TableShape = {
  keys: ['messageId'],
  indexes: [
    { name: 'byPending', keys: ['pendingShard', 'sweepAt'], projection: 'INCLUDE', include: ['status'] },
    { name: 'byTenant', keys: ['tenantId'], projection: 'KEYS_ONLY', include: [] },
  ],
};
const text = (bytes: number) => ({ S: 'x'.repeat(bytes) });

describe('DynamoDB capacity units (bench)', () => {
  it('sizes an item as attribute names plus values, numbers by significant digits', () => {
    // "abc" 3 + "hello" 5; "n" 1 + 12345 (5 digits → 3 bytes, + 1) 4; "b" 1 + true 1.
    expect(itemSize({ abc: { S: 'hello' }, n: { N: '12345' }, b: { BOOL: true } })).toBe(8 + 5 + 2);
    // Leading and trailing zeros are trimmed: 1000 has one significant digit.
    expect(itemSize({ n: { N: '1000' } })).toBe(1 + 2);
    // Maps and lists: 3 bytes plus 1 byte per element.
    expect(itemSize({ m: { M: { k: { S: 'v' } } }, l: { L: [{ S: 'ab' }] } })).toBe(
      1 + 3 + 1 + 1 + 1 + (1 + 3 + 1 + 2),
    );
  });

  it('charges one write unit per started KB of the larger of the item before and after', () => {
    const small = { messageId: { S: 'm' }, body: text(100) };
    const large = { messageId: { S: 'm' }, body: text(1500) };
    expect(writeUnits(table, undefined, small, { conditionFailed: false, transactional: false }).table).toBe(
      1,
    );
    expect(writeUnits(table, small, large, { conditionFailed: false, transactional: false }).table).toBe(2);
    expect(writeUnits(table, large, small, { conditionFailed: false, transactional: false }).table).toBe(2);
    expect(writeUnits(table, small, large, { conditionFailed: false, transactional: true }).table).toBe(4);
  });

  it('still charges a failed conditional write, on the existing item or at least one unit', () => {
    const existing = { messageId: { S: 'm' }, body: text(2500) };
    expect(writeUnits(table, existing, existing, { conditionFailed: true, transactional: false })).toEqual({
      table: 3,
      indexes: 0,
    });
    expect(
      writeUnits(table, undefined, undefined, { conditionFailed: true, transactional: false }).table,
    ).toBe(1);
  });

  it('writes an index once when an entry appears, twice when its key changes, never when nothing projected changed', () => {
    const [byPending] = table.indexes;
    if (!byPending) throw new Error('no index');
    const queued = {
      messageId: { S: 'm' },
      pendingShard: { S: '1' },
      sweepAt: { S: 'a' },
      status: { S: 'QUEUED' },
    };
    const sending = { ...queued, sweepAt: { S: 'b' }, status: { S: 'SENDING' } };
    const sent = { messageId: { S: 'm' }, status: { S: 'SENT' } };
    expect(indexWriteUnits(table, byPending, undefined, queued)).toBe(1);
    expect(indexWriteUnits(table, byPending, queued, sending)).toBe(2);
    expect(indexWriteUnits(table, byPending, sending, sent)).toBe(1);
    expect(indexWriteUnits(table, byPending, sent, { ...sent, body: text(10) })).toBe(0);
    expect(indexWriteUnits(table, byPending, queued, { ...queued, body: text(10) })).toBe(0);
    expect(indexWriteUnits(table, byPending, queued, { ...queued, status: { S: 'DEFERRED' } })).toBe(1);
  });

  it('charges reads per 4 KB, half for eventually consistent ones, at least one for a missing item', () => {
    expect(readUnits([{ body: text(5000) }], true)).toBe(2);
    expect(readUnits([{ body: text(5000) }], false)).toBe(1);
    expect(readUnits([undefined], true)).toBe(1);
    expect(readUnits([{ a: text(3000) }, { a: text(3000) }], true)).toBe(2);
  });
});
