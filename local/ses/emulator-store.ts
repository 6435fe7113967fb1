import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

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

interface Snapshot {
  account: AccountState;
  identities: IdentityRecord[];
  configurationSets: ConfigurationSetRecord[];
  tenants: TenantRecord[];
  suppressions: SuppressionRecord[];
  /** `raw` as base64. */
  messages: (Omit<StoredMessage, 'raw'> & { raw: string })[];
  sendLog: number[];
}

const STATE_FILE = 'ses-emulator-state.json';

/**
 * Everything the emulator knows, in memory. With a `dataDir` it is written to one JSON file after every
 * change and read back at start, so a restarted local twin keeps its identities and messages.
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
  /** One timestamp (ms) per recipient accepted, for the send rate and the 24-hour quota. */
  sendLog: number[] = [];

  constructor(
    account: AccountState,
    private readonly dataDir?: string,
  ) {
    this.account = account;
    if (dataDir) this.load(dataDir);
  }

  /** Recipients accepted in the 24 hours before `now`. */
  sentInLast24Hours(now: number): number {
    this.sendLog = this.sendLog.filter((at) => at > now - 86_400_000);
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

  suppressionKey(address: string, tenantName?: string): string {
    return `${tenantName ?? ''}|${address.toLowerCase()}`;
  }

  /** Writes the state file when persistence is on; a no-op otherwise. */
  save(): void {
    if (!this.dataDir) return;
    const snapshot: Snapshot = {
      account: this.account,
      identities: [...this.identities.values()],
      configurationSets: [...this.configurationSets.values()],
      tenants: [...this.tenants.values()],
      suppressions: [...this.suppressions.values()],
      messages: this.messages.map((message) => ({ ...message, raw: message.raw.toString('base64') })),
      sendLog: this.sendLog,
    };
    mkdirSync(this.dataDir, { recursive: true });
    const file = join(this.dataDir, STATE_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(snapshot));
    renameSync(`${file}.tmp`, file);
  }

  private load(dataDir: string): void {
    const file = join(dataDir, STATE_FILE);
    if (!existsSync(file)) return;
    const snapshot = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
    for (const identity of snapshot.identities) this.identities.set(identity.name, identity);
    for (const set of snapshot.configurationSets) this.configurationSets.set(set.name, set);
    for (const tenant of snapshot.tenants) this.tenants.set(tenant.name, tenant);
    for (const entry of snapshot.suppressions) {
      this.suppressions.set(this.suppressionKey(entry.address, entry.tenantName), entry);
    }
    this.messages = snapshot.messages.map((message) => ({
      ...message,
      raw: Buffer.from(message.raw, 'base64'),
    }));
    this.sendLog = snapshot.sendLog;
  }
}
