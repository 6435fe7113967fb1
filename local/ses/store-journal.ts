import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

const SNAPSHOT_FILE = 'ses-emulator-state.json';
const JOURNAL_PREFIX = 'ses-emulator-journal-';
const JOURNAL_SUFFIX = '.ndjson';

/** The snapshot file's envelope: the state plus the name of the journal that continues it. */
interface SnapshotFile<State> {
  /** Absent in state files written before the journal existed: nothing to replay then. */
  readonly journal?: string;
  readonly state: State;
}

/**
 * Append-only persistence: a snapshot written at start plus a journal of one JSON line per change, so a change
 * costs the bytes of that change, not of the whole state. At start the snapshot is read, its journal replayed
 * and both folded into a new snapshot with a new, empty journal (one whole write per start, none per change).
 *
 * Crash safety: a change is one `write` of one complete line; a line cut short by a crash (no trailing newline,
 * or unparsable as the last line) is ignored at the next start. A new snapshot names its own journal and is put
 * in place by rename, so a crash between the rename and removing the old journal replays nothing twice.
 */
export class StoreJournal<Entry> {
  private fd: number | undefined;

  private constructor(
    private readonly dataDir: string,
    private readonly journalFile: string,
  ) {}

  /**
   * Reads `dataDir` (snapshot, then journal entries through `apply`), writes the compacted snapshot that
   * `snapshot()` returns after the replay, and opens a new journal for appends.
   */
  static open<State, Entry>(
    dataDir: string,
    restore: (state: State) => void,
    apply: (entry: Entry) => void,
    snapshot: () => State,
  ): StoreJournal<Entry> {
    const snapshotPath = join(dataDir, SNAPSHOT_FILE);
    let generation = 0;
    if (existsSync(snapshotPath)) {
      const file = JSON.parse(readFileSync(snapshotPath, 'utf8')) as SnapshotFile<State> | State;
      const envelope = isEnvelope<State>(file) ? file : { state: file };
      restore(envelope.state);
      if (envelope.journal) {
        generation = generationOf(envelope.journal) + 1;
        const journalPath = join(dataDir, envelope.journal);
        if (existsSync(journalPath)) for (const entry of readEntries<Entry>(journalPath)) apply(entry);
      }
    }
    const journalFile = `${JOURNAL_PREFIX}${generation}${JOURNAL_SUFFIX}`;
    const tmp = `${snapshotPath}.tmp`;
    writeFileSync(
      tmp,
      JSON.stringify({ journal: journalFile, state: snapshot() } satisfies SnapshotFile<State>),
    );
    renameSync(tmp, snapshotPath);
    // The new snapshot now holds everything: earlier journals (and one left by a crash mid-compaction) go.
    for (const name of readdirSync(dataDir)) {
      if (name.startsWith(JOURNAL_PREFIX) && name !== journalFile)
        rmSync(join(dataDir, name), { force: true });
    }
    const journal = new StoreJournal<Entry>(dataDir, journalFile);
    journal.fd = openSync(join(dataDir, journalFile), 'w');
    return journal;
  }

  /** Appends one change as one line (one `write` call, so a crash cuts at most this line). */
  append(entry: Entry): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, `${JSON.stringify(entry)}\n`);
  }

  /** The journal file in use, for tests that measure it. */
  get path(): string {
    return join(this.dataDir, this.journalFile);
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

function isEnvelope<State>(file: unknown): file is SnapshotFile<State> {
  return typeof file === 'object' && file !== null && 'state' in file;
}

function generationOf(journalFile: string): number {
  const generation = Number(journalFile.slice(JOURNAL_PREFIX.length, -JOURNAL_SUFFIX.length));
  return Number.isInteger(generation) ? generation : 0;
}

/** Complete lines only: the text after the last newline is a torn write and is skipped. */
function readEntries<Entry>(path: string): Entry[] {
  const text = readFileSync(path, 'utf8');
  const end = text.lastIndexOf('\n');
  if (end < 0) return [];
  const lines = text.slice(0, end).split('\n');
  const entries: Entry[] = [];
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    try {
      entries.push(JSON.parse(line) as Entry);
    } catch (error) {
      // Only the last line can be torn by a crash; anything earlier is damage the emulator must not hide.
      if (index === lines.length - 1) break;
      throw new Error(`${path}: line ${index + 1} is not a journal entry`, { cause: error });
    }
  }
  return entries;
}
