/**
 * DynamoDB's documented capacity rules, applied to items in the wire format (AttributeValue JSON):
 * - item size = for every attribute, the UTF-8 bytes of its name plus the size of its value: strings their UTF-8
 *   bytes, binary its bytes, a number (significant digits / 2) + 1 bytes, null and booleans 1 byte, lists and maps
 *   3 bytes plus 1 byte per element plus the elements (names included for maps), sets the sum of their members
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html);
 * - one write request unit per 1 KB of the item, rounded up; PutItem, UpdateItem and DeleteItem are charged on the
 *   larger of the item before and after the write; a write whose condition fails still consumes, on the size of
 *   the existing item (at least 1); transactional writes cost 2 units per KB
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html);
 * - a global secondary index is written when the write adds, changes or removes the item's entry there: an entry
 *   that appears or disappears is one index write, a changed index key is two (delete the old entry, put the new
 *   one), a changed projected attribute one, nothing projected changed none; an entry's size is the table's key,
 *   the index key and the projected attributes
 *   (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations);
 * - reads: one unit per 4 KB for a strongly consistent read, half for an eventually consistent one, a Query
 *   charged on the sum of the items' sizes, a missing item still at least one read.
 */
export type AttributeValue = Record<string, unknown>;
export type Item = Record<string, AttributeValue>;

export interface IndexShape {
  readonly name: string;
  readonly keys: readonly string[];
  /** `ALL`, `KEYS_ONLY` or `INCLUDE`. */
  readonly projection: string;
  readonly include: readonly string[];
}

export interface TableShape {
  readonly keys: readonly string[];
  readonly indexes: readonly IndexShape[];
}

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

function numberSize(text: string): number {
  const digits = text
    .replace(/^-/, '')
    .replace(/[eE].*$/, '')
    .replace('.', '')
    .replace(/^0+/, '');
  const significant = digits.replace(/0+$/, '').length || 1;
  return Math.ceil(significant / 2) + 1;
}

function binarySize(value: unknown): number {
  if (value instanceof Uint8Array) return value.length;
  return Buffer.from(String(value), 'base64').length;
}

/** Bytes of one attribute value. */
export function valueSize(value: AttributeValue): number {
  const [type, inner] = Object.entries(value)[0] ?? ['NULL', true];
  switch (type) {
    case 'S':
      return utf8(String(inner));
    case 'N':
      return numberSize(String(inner));
    case 'B':
      return binarySize(inner);
    case 'BOOL':
    case 'NULL':
      return 1;
    case 'SS':
      return (inner as string[]).reduce((sum, member) => sum + utf8(member), 0);
    case 'NS':
      return (inner as string[]).reduce((sum, member) => sum + numberSize(member), 0);
    case 'BS':
      return (inner as unknown[]).reduce<number>((sum, member) => sum + binarySize(member), 0);
    case 'L':
      return (inner as AttributeValue[]).reduce((sum, element) => sum + 1 + valueSize(element), 3);
    case 'M':
      return Object.entries(inner as Item).reduce(
        (sum, [name, element]) => sum + 1 + utf8(name) + valueSize(element),
        3,
      );
    default:
      throw new Error(`unknown DynamoDB attribute type ${type}`);
  }
}

/** Bytes of an item: attribute names plus values; 0 for no item. */
export function itemSize(item: Item | undefined, only?: (name: string) => boolean): number {
  if (!item) return 0;
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (!only || only(name)) size += utf8(name) + valueSize(value);
  }
  return size;
}

const units = (bytes: number, per: number) => Math.max(1, Math.ceil(bytes / per));

/** The index entry of an item: undefined when the item lacks an index key (a sparse index leaves it out). */
function indexEntry(table: TableShape, index: IndexShape, item: Item | undefined): Item | undefined {
  if (!item || index.keys.some((key) => item[key] === undefined)) return undefined;
  const keep = (name: string) =>
    index.projection === 'ALL' ||
    table.keys.includes(name) ||
    index.keys.includes(name) ||
    (index.projection === 'INCLUDE' && index.include.includes(name));
  return Object.fromEntries(Object.entries(item).filter(([name]) => keep(name)));
}

const sameEntry = (a: Item, b: Item) => JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
const sorted = (item: Item) =>
  Object.fromEntries(Object.entries(item).sort(([x], [y]) => x.localeCompare(y)));

/** Write units one index consumes for a write that turned `before` into `after`. */
export function indexWriteUnits(table: TableShape, index: IndexShape, before?: Item, after?: Item): number {
  const old = indexEntry(table, index, before);
  const next = indexEntry(table, index, after);
  if (!old && !next) return 0;
  if (!old || !next) return units(itemSize(old ?? next), 1024);
  const keyChanged = index.keys.some((key) => JSON.stringify(old[key]) !== JSON.stringify(next[key]));
  if (keyChanged) return units(itemSize(old), 1024) + units(itemSize(next), 1024);
  return sameEntry(old, next) ? 0 : units(itemSize(next), 1024);
}

export interface WriteCharge {
  readonly table: number;
  readonly indexes: number;
}

/** Units of one item write (Put/Update/Delete), table and indexes; `transactional` doubles them. */
export function writeUnits(
  table: TableShape,
  before: Item | undefined,
  after: Item | undefined,
  outcome: { readonly conditionFailed: boolean; readonly transactional: boolean },
): WriteCharge {
  const factor = outcome.transactional ? 2 : 1;
  if (outcome.conditionFailed) return { table: factor * units(itemSize(before), 1024), indexes: 0 };
  const size = Math.max(itemSize(before), itemSize(after));
  const indexes = table.indexes.reduce((sum, index) => sum + indexWriteUnits(table, index, before, after), 0);
  return { table: factor * units(size, 1024), indexes: factor * indexes };
}

/** Read units of items read together (a Query page: their sizes summed; GetItem: one item). */
export function readUnits(items: readonly (Item | undefined)[], consistent: boolean): number {
  const bytes = items.reduce((sum, item) => sum + itemSize(item), 0);
  return units(bytes, 4096) * (consistent ? 1 : 0.5);
}
