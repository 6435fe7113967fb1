import { mkdirSync } from 'node:fs';
import { StoreJournal } from './store-journal';

export type IdentityType = 'EMAIL_ADDRESS' | 'DOMAIN';
export type VerificationStatus = 'PENDING' | 'SUCCESS' | 'FAILED' | 'TEMPORARY_FAILURE' | 'NOT_STARTED';

export interface TagRecord {
  readonly Key: string;
  readonly Value: string;
}

/** Easy DKIM state of a domain identity: the three tokens and the one key the emulator signs with. */
export interface DkimRecord {
  tokens: string[];
  status: VerificationStatus;
  privateKeyPem: string;
  /** Base64 SubjectPublicKeyInfo, the `p=` value of the DKIM key record. */
  publicKey: string;
  keyBits: number;
  keyCreatedAt: number;
  signingEnabled: boolean;
}

export interface IdentityRecord {
  /** As created, lower-cased (SES treats identities case-insensitively). */
  name: string;
  type: IdentityType;
  createdAt: number;
  verificationStatus: VerificationStatus;
  /** Domain identities only. */
  dkim?: DkimRecord;
  /** Email identities only: the secret in the local verification link. */
  verificationToken?: string;
  tags: TagRecord[];
  configurationSetName?: string;
  lastCheckedAt?: number;
  /** Last check (emulator clock) that found the identity verified. */
  lastSuccessAt?: number;
  /** Domains: when a check first missed the CNAMEs of a verified domain (TEMPORARY_FAILURE since then). */
  missingSince?: number;
  /** Verified through the test-only `/_local/identities/<id>/verify`: DNS checks leave it alone. */
  forced?: boolean;
}

export interface EventDestinationRecord {
  name: string;
  enabled: boolean;
  matchingEventTypes: string[];
  snsTopicArn?: string;
  /** The definition as sent, returned by GetConfigurationSetEventDestinations. */
  definition: Record<string, unknown>;
}

export interface ConfigurationSetRecord {
  name: string;
  createdAt: number;
  sendingEnabled: boolean;
  /** `SuppressionOptions.SuppressedReasons`; absent means the account-level setting applies. */
  suppressedReasons?: string[];
  tags: TagRecord[];
  /** Option groups as sent (TrackingOptions, DeliveryOptions…), echoed by GetConfigurationSet. */
  options: Record<string, unknown>;
  eventDestinations: EventDestinationRecord[];
}

export interface TenantResourceRecord {
  arn: string;
  type: 'EMAIL_IDENTITY' | 'CONFIGURATION_SET' | 'EMAIL_TEMPLATE';
  associatedAt: number;
}

export interface TenantRecord {
  name: string;
  id: string;
  arn: string;
  createdAt: number;
  tags: TagRecord[];
  sendingStatus: 'ENABLED' | 'REINSTATED' | 'DISABLED';
  suppressionAttributes?: Record<string, unknown>;
  resources: TenantResourceRecord[];
}

export interface SuppressionRecord {
  address: string;
  reason: 'BOUNCE' | 'COMPLAINT';
  lastUpdateTime: number;
  messageId?: string;
  feedbackId?: string;
  /** Absent for the account-level list. */
  tenantName?: string;
}

export type RecipientOutcome = 'delivered' | 'bounced' | 'suppressed' | 'complained' | 'rejected';

/** A message SES accepted, kept exactly as it would have left SES (DKIM signatures included). */
export interface StoredMessage {
  messageId: string;
  /** `email` for SendEmail, `verification` for the mail an email identity's owner receives. */
  kind: 'email' | 'verification';
  timestamp: string;
  source: string;
  from: string[];
  subject: string;
  destination: string[];
  configurationSetName?: string;
  tenantName?: string;
  emailTags: { Name: string; Value: string }[];
  outcomes: { recipient: string; outcome: RecipientOutcome }[];
  /** The complete MIME message as delivered: the bytes (8-bit and binary parts intact), CRLF line ends. */
  raw: Buffer;
}

/** A stored message as `GET /_local/messages` answers it: `rawBase64` holds the exact bytes. */
export type StoredMessageJson = Omit<StoredMessage, 'raw'> & {
  readonly raw: string;
  readonly rawBase64: string;
};

/** An SES event record built for a configuration set's SNS destination, and whether publishing worked. */
export interface PublishedEvent {
  /** The emulator's own id of this record (journal key). */
  readonly id: string;
  messageId: string;
  eventType: string;
  topicArn: string;
  payload: Record<string, unknown>;
  /** `skipped` when the emulator was started without `snsEndpoint`. */
  status: 'pending' | 'published' | 'failed' | 'skipped';
  error?: string;
  /** A second publication of the same record (at-least-once delivery). */
  duplicate?: boolean;
}

export interface AccountState {
  sandbox: boolean;
  maxSendRate: number;
  max24HourSend: number;
  sendingEnabled: boolean;
  suppressedReasons: string[];
}

/** A stored message as persisted: `raw` as base64. */
type PersistedMessage = Omit<StoredMessage, 'raw'> & { raw: string };

interface Snapshot {
  identities: IdentityRecord[];
  configurationSets: ConfigurationSetRecord[];
  tenants: TenantRecord[];
  suppressions: SuppressionRecord[];
  messages: PersistedMessage[];
  sendLog: number[];
  /** Event records not yet published (absent in state files written before events were kept). */
  unpublishedEvents?: PublishedEvent[];
}

/** One change, one journal line. */
type JournalEntry =
  | { readonly op: 'identity'; readonly value: IdentityRecord }
  | { readonly op: 'identity-deleted'; readonly name: string }
  | { readonly op: 'configuration-set'; readonly value: ConfigurationSetRecord }
  | { readonly op: 'configuration-set-deleted'; readonly name: string }
  | { readonly op: 'tenant'; readonly value: TenantRecord }
  | { readonly op: 'tenant-deleted'; readonly name: string }
  | { readonly op: 'suppression'; readonly value: SuppressionRecord }
  | { readonly op: 'suppression-deleted'; readonly key: string }
  | { readonly op: 'message'; readonly value: PersistedMessage }
  | { readonly op: 'messages-cleared' }
  | { readonly op: 'event'; readonly value: PublishedEvent }
  | {
      readonly op: 'event-settled';
      readonly id: string;
      readonly status: 'published' | 'failed';
      readonly error?: string;
    }
  | { readonly op: 'sent'; readonly at: number; readonly recipients: number };

const persisted = (message: StoredMessage): PersistedMessage => ({
  ...message,
  raw: message.raw.toString('base64'),
});
const restored = (message: PersistedMessage): StoredMessage => ({
  ...message,
  raw: Buffer.from(message.raw, 'base64'),
});

/**
 * Everything the emulator knows, in memory. With a `dataDir` every change is appended to a journal (one line
 * per change, see `StoreJournal`) and the state is read back at start, so a restarted local twin keeps its
 * identities, configuration sets, tenants, suppressions, messages and 24-hour quota use. Change state through
 * the methods below (they write the journal); reading the maps and arrays directly is fine.
 * Exposed by `startSesEmulator` for tests that need to set account state directly.
 */
export class EmulatorStore {
  account: AccountState;
  readonly identities = new Map<string, IdentityRecord>();
  readonly configurationSets = new Map<string, ConfigurationSetRecord>();
  readonly tenants = new Map<string, TenantRecord>();
  /** Keyed by `<tenant or empty>|<address lower-cased>`. */
  readonly suppressions = new Map<string, SuppressionRecord>();
  messages: StoredMessage[] = [];
  events: PublishedEvent[] = [];
  /** One timestamp (ms) per recipient accepted, oldest first, for the send rate and the 24-hour quota. */
  sendLog: number[] = [];
  /** Event records not yet published (pending or failed), by id. */
  private readonly unpublished = new Map<string, PublishedEvent>();
  private readonly journal: StoreJournal<JournalEntry> | undefined;

  constructor(account: AccountState, dataDir?: string) {
    this.account = account;
    if (!dataDir) return;
    mkdirSync(dataDir, { recursive: true });
    this.journal = StoreJournal.open<Snapshot, JournalEntry>(
      dataDir,
      (snapshot) => this.restore(snapshot),
      (entry) => this.apply(entry),
      () => this.snapshot(),
    );
  }

  /** The journal file changes are appended to, when persistence is on. */
  get journalPath(): string | undefined {
    return this.journal?.path;
  }

  /** Recipients accepted in the 24 hours before `now`. */
  sentInLast24Hours(now: number): number {
    let expired = 0;
    while (expired < this.sendLog.length && (this.sendLog[expired] ?? now) <= now - 86_400_000) expired++;
    if (expired > 0) this.sendLog.splice(0, expired);
    return this.sendLog.length;
  }

  /** Recipients accepted in the second before `now`. */
  sentInLastSecond(now: number): number {
    let count = 0;
    for (let i = this.sendLog.length - 1; i >= 0; i--) {
      const at = this.sendLog[i];
      if (at === undefined || at <= now - 1000) break;
      count++;
    }
    return count;
  }

  /** Counts `recipients` accepted at `at` against the send rate and the 24-hour quota. */
  recordSent(at: number, recipients: number): void {
    this.change({ op: 'sent', at, recipients });
  }

  addMessage(message: StoredMessage): void {
    this.change({ op: 'message', value: persisted(message) }, () => this.messages.push(message));
  }

  /** Forgets stored messages and event records (identities and settings stay). */
  clearMessages(): void {
    this.change({ op: 'messages-cleared' });
  }

  /**
   * Keeps an event record as emitted (before SendEmail answers): written to the journal, so a record SES owes
   * survives a crash of the emulator and is published after the restart (`unpublishedEvents`).
   */
  addEvent(event: PublishedEvent): void {
    // A record with no SNS to go to (`skipped`) is only shown: nothing is owed, nothing written.
    if (event.status !== 'pending') {
      this.events.push(event);
      return;
    }
    this.change({ op: 'event', value: event });
  }

  /** Records how publishing an event record ended. */
  eventSettled(event: PublishedEvent, status: 'published' | 'failed', error?: string): void {
    this.change({ op: 'event-settled', id: event.id, status, ...(error ? { error } : {}) });
  }

  /** Event records emitted but not published: pending when the emulator stopped or crashed, or failed. */
  unpublishedEvents(): PublishedEvent[] {
    return [...this.unpublished.values()];
  }

  putIdentity(identity: IdentityRecord): void {
    this.change({ op: 'identity', value: identity });
  }

  /** Records a change made in place to a stored identity; nothing when it was deleted or replaced meanwhile. */
  identityChanged(identity: IdentityRecord): void {
    if (this.identities.get(identity.name) === identity) this.putIdentity(identity);
  }

  deleteIdentity(name: string): void {
    this.change({ op: 'identity-deleted', name });
  }

  /** Stores a new configuration set, or records a change made to one in place. */
  putConfigurationSet(set: ConfigurationSetRecord): void {
    this.change({ op: 'configuration-set', value: set });
  }

  deleteConfigurationSet(name: string): void {
    this.change({ op: 'configuration-set-deleted', name });
  }

  /** Stores a new tenant, or records a change made to one in place. */
  putTenant(tenant: TenantRecord): void {
    this.change({ op: 'tenant', value: tenant });
  }

  deleteTenant(name: string): void {
    this.change({ op: 'tenant-deleted', name });
  }

  putSuppression(entry: SuppressionRecord): void {
    this.change({ op: 'suppression', value: entry });
  }

  deleteSuppression(address: string, tenantName?: string): void {
    this.change({ op: 'suppression-deleted', key: this.suppressionKey(address, tenantName) });
  }

  suppressionKey(address: string, tenantName?: string): string {
    return `${tenantName ?? ''}|${address.toLowerCase()}`;
  }

  /** Closes the journal; the store stays usable in memory. */
  close(): void {
    this.journal?.close();
  }

  /**
   * Applies one change in memory (`inMemory` when the live object should be kept rather than the journal's
   * copy) and appends it to the journal.
   */
  private change(entry: JournalEntry, inMemory?: () => void): void {
    if (inMemory) inMemory();
    else this.apply(entry);
    this.journal?.append(entry);
  }

  private apply(entry: JournalEntry): void {
    switch (entry.op) {
      case 'identity':
        this.identities.set(entry.value.name, entry.value);
        break;
      case 'identity-deleted':
        this.identities.delete(entry.name);
        break;
      case 'configuration-set':
        this.configurationSets.set(entry.value.name, entry.value);
        break;
      case 'configuration-set-deleted':
        this.configurationSets.delete(entry.name);
        break;
      case 'tenant':
        this.tenants.set(entry.value.name, entry.value);
        break;
      case 'tenant-deleted':
        this.tenants.delete(entry.name);
        break;
      case 'suppression':
        this.suppressions.set(this.suppressionKey(entry.value.address, entry.value.tenantName), entry.value);
        break;
      case 'suppression-deleted':
        this.suppressions.delete(entry.key);
        break;
      case 'message':
        this.messages.push(restored(entry.value));
        break;
      case 'messages-cleared':
        this.messages = [];
        this.events = [];
        this.unpublished.clear();
        break;
      case 'event':
        this.events.push(entry.value);
        // Pending, or failed (restored from a snapshot): owed either way.
        if (entry.value.status === 'pending' || entry.value.status === 'failed')
          this.unpublished.set(entry.value.id, entry.value);
        break;
      case 'event-settled': {
        const event = this.unpublished.get(entry.id);
        if (!event) break;
        event.status = entry.status;
        if (entry.error) event.error = entry.error;
        else delete event.error;
        if (entry.status === 'published') this.unpublished.delete(entry.id);
        break;
      }
      case 'sent':
        for (let i = 0; i < entry.recipients; i++) this.sendLog.push(entry.at);
        break;
    }
  }

  private snapshot(): Snapshot {
    return {
      identities: [...this.identities.values()],
      configurationSets: [...this.configurationSets.values()],
      tenants: [...this.tenants.values()],
      suppressions: [...this.suppressions.values()],
      messages: this.messages.map(persisted),
      sendLog: this.sendLog,
      // Published records are not kept across a restart (they are SNS's now); those SES still owes are.
      unpublishedEvents: this.unpublishedEvents(),
    };
  }

  private restore(snapshot: Snapshot): void {
    for (const identity of snapshot.identities) this.identities.set(identity.name, identity);
    for (const set of snapshot.configurationSets) this.configurationSets.set(set.name, set);
    for (const tenant of snapshot.tenants) this.tenants.set(tenant.name, tenant);
    for (const entry of snapshot.suppressions) {
      this.suppressions.set(this.suppressionKey(entry.address, entry.tenantName), entry);
    }
    this.messages = snapshot.messages.map(restored);
    this.sendLog = snapshot.sendLog;
    for (const event of snapshot.unpublishedEvents ?? []) this.apply({ op: 'event', value: event });
  }
}
