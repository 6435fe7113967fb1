import { Resolver } from 'node:dns/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalDnsServer } from '../dns/dns-server';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../emulators/local-aws';
import {
  getAccount,
  patchAccount,
  putAccountSendingAttributes,
  putAccountSuppressionAttributes,
} from './account-operations';
import * as sets from './configuration-set-operations';
import {
  AMAZONSES_DOMAIN,
  dkimKeyRecord,
  generateDkimKey,
  newDkimToken,
  publishTokenKeys,
} from './dkim-keys';
import type { EmulatorContext } from './emulator-context';
import { EmulatorStore } from './emulator-store';
import { type EventDeliveryOptions, EventPublisher } from './event-publisher';
import { type Handler, HttpRouter } from './http-router';
import * as identities from './identity-operations';
import * as viewer from './local-viewer';
import { sendEmail } from './send-email-operation';
import * as suppression from './suppression-operations';
import * as tenants from './tenant-operations';
import { VirtualClock } from './virtual-clock';

export type { EmulatorStore, PublishedEvent, StoredMessage, StoredMessageJson } from './emulator-store';
export { EVENTS_CHAOS, type EventDeliveryOptions } from './event-publisher';
export { EICAR } from './send-email-operation';

export interface SesEmulatorOptions {
  /** TCP port on 127.0.0.1. @default 0 (a free port) */
  readonly port?: number;
  /** DNS servers (`host:port`) used to check the DKIM CNAMEs of domain identities. @default `[dns.server]` when `dns` is given, else none (domains stay PENDING) */
  readonly dnsServers?: readonly string[];
  /** A local DNS server to publish DKIM public keys into (`<token>.dkim.amazonses.com`, `<selector>._domainkey.amazonses.com`). */
  readonly dns?: LocalDnsServer;
  /** SNS endpoint (fauxqs) that event destinations publish to. Without it events are only kept in the store. */
  readonly snsEndpoint?: string;
  /** Delay, order and duplication of event records (`EVENTS_CHAOS` for tests). @default in order, 5–25 ms late, once */
  readonly events?: EventDeliveryOptions;
  /** Sandbox: only verified identities and simulator addresses may receive. @default false */
  readonly sandbox?: boolean;
  /** Recipients per second. @default 14 (1 in the sandbox) */
  readonly maxSendRate?: number;
  /** Recipients per rolling 24 hours. @default 50000 (200 in the sandbox) */
  readonly max24HourSend?: number;
  /** `false` pauses the account: SendEmail answers SendingPausedException. @default true */
  readonly sendingEnabled?: boolean;
  /** RSA key size of new Easy DKIM keys. @default 2048 (SES's default); 1024 makes tests faster */
  readonly dkimKeyBits?: number;
  /** How often pending domain identities re-check their CNAMEs. @default 5000 ms */
  readonly verificationRecheckMs?: number;
  /** Folder for the state: a snapshot plus an append-only journal (see `StoreJournal`); in memory when absent. */
  readonly dataDir?: string;
  /** Base URL written into email-verification links. @default the emulator's own URL */
  readonly verificationBaseUrl?: string;
  /** Region in ARNs and messages. @default LOCAL_REGION (us-east-1) */
  readonly region?: string;
  /**
   * Base clock (ms since epoch) under the emulator's virtual clock, so tests can hold time still; the virtual
   * clock adds whatever `POST /_local/clock` or `emulator.clock.advance()` moved it by. @default Date.now
   */
  readonly clock?: () => number;
}

export interface SesEmulator {
  /** `http://127.0.0.1:<port>`: pass as `endpoint` to `SESv2Client`. */
  readonly url: string;
  readonly port: number;
  /** The emulator's state (account settings, identities, messages, events) for tests. */
  readonly store: EmulatorStore;
  /** The virtual clock; `clock.advance('72h')` is `POST /_local/clock {"advance":"72h"}` without the re-check. */
  readonly clock: VirtualClock;
  /** Resolves once every event emitted so far has been published to SNS (or failed). */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts a local Amazon SES v2 endpoint that `@aws-sdk/client-sesv2` talks to unchanged: identities with
 * Easy DKIM, sending rules, throttling, suppression, tenants, configuration sets with SNS events and the
 * mailbox simulator. Listens on 127.0.0.1 only; see local/ses/README.md for what differs from SES.
 */
export async function startSesEmulator(options: SesEmulatorOptions = {}): Promise<SesEmulator> {
  const sandbox = options.sandbox ?? false;
  const store = new EmulatorStore(
    {
      sandbox,
      maxSendRate: options.maxSendRate ?? (sandbox ? 1 : 14),
      max24HourSend: options.max24HourSend ?? (sandbox ? 200 : 50_000),
      sendingEnabled: options.sendingEnabled ?? true,
      suppressedReasons: ['BOUNCE', 'COMPLAINT'],
    },
    options.dataDir,
  );
  const dnsServers = options.dnsServers ?? (options.dns ? [options.dns.server] : []);
  let resolver: Resolver | undefined;
  if (dnsServers.length > 0) {
    resolver = new Resolver({ timeout: 1000, tries: 1 });
    resolver.setServers([...dnsServers]);
  }
  const amazonSesKey = generateDkimKey(options.dkimKeyBits ?? 2048);
  const amazonSesSelector = newDkimToken();
  options.dns?.setRecords(`${amazonSesSelector}._domainkey.${AMAZONSES_DOMAIN}`, 'TXT', [
    dkimKeyRecord(amazonSesKey.publicKey),
  ]);
  for (const identity of store.identities.values()) {
    if (identity.dkim) publishTokenKeys(options.dns, identity.dkim.tokens, identity.dkim.publicKey);
  }
  const clock = new VirtualClock(options.clock ?? Date.now);
  const events = new EventPublisher(store, options.snsEndpoint, options.events);
  // Records a crash or stop left unpublished go out now, as SES would still deliver them.
  events.resume();
  let url = '';
  const ctx: EmulatorContext = {
    store,
    region: options.region ?? LOCAL_REGION,
    accountId: LOCAL_ACCOUNT,
    dns: options.dns,
    resolver,
    dkimKeyBits: options.dkimKeyBits ?? 2048,
    verificationBaseUrl: () => options.verificationBaseUrl ?? url,
    amazonSesSigner: {
      domain: AMAZONSES_DOMAIN,
      selector: amazonSesSelector,
      privateKeyPem: amazonSesKey.privateKeyPem,
    },
    events,
    now: () => clock.now(),
    clock,
  };

  const server = createServer(buildRouter(ctx).listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  const recheck = setInterval(() => {
    void identities.refreshAllIdentities(ctx);
  }, options.verificationRecheckMs ?? 5000);
  recheck.unref();

  return {
    url,
    port,
    store,
    clock,
    settled: () => events.settled(),
    stop: async () => {
      clearInterval(recheck);
      options.dns?.removeName(`${amazonSesSelector}._domainkey.${AMAZONSES_DOMAIN}`);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await events.settled();
      events.close();
      store.close();
    },
  };
}

function buildRouter(ctx: EmulatorContext): HttpRouter {
  const on =
    (
      operation: (context: EmulatorContext, request: Parameters<Handler>[0]) => ReturnType<Handler>,
    ): Handler =>
    (request) =>
      operation(ctx, request);
  const base = '/v2/email';
  const set = `${base}/configuration-sets/{ConfigurationSetName}`;
  return (
    new HttpRouter()
      // Identities
      .add('POST', `${base}/identities`, on(identities.createEmailIdentity))
      .add('GET', `${base}/identities`, on(identities.listEmailIdentities))
      .add('POST', `${base}/list-identities`, on(identities.listEmailIdentities))
      .add('GET', `${base}/identities/{EmailIdentity}`, on(identities.getEmailIdentity))
      .add('DELETE', `${base}/identities/{EmailIdentity}`, on(identities.deleteEmailIdentity))
      .add('PUT', `${base}/identities/{EmailIdentity}/dkim`, on(identities.putEmailIdentityDkimAttributes))
      // Sending and account
      .add('POST', `${base}/outbound-emails`, on(sendEmail))
      .add('GET', `${base}/account`, on(getAccount))
      .add('PUT', `${base}/account/sending`, on(putAccountSendingAttributes))
      .add('PUT', `${base}/account/suppression`, on(putAccountSuppressionAttributes))
      // Suppression list
      .add('PUT', `${base}/suppression/addresses`, on(suppression.putSuppressedDestination))
      .add('GET', `${base}/suppression/addresses`, on(suppression.listSuppressedDestinations))
      .add('GET', `${base}/suppression/addresses/{EmailAddress}`, on(suppression.getSuppressedDestination))
      .add(
        'DELETE',
        `${base}/suppression/addresses/{EmailAddress}`,
        on(suppression.deleteSuppressedDestination),
      )
      // Tenants
      .add('POST', `${base}/tenants`, on(tenants.createTenant))
      .add('POST', `${base}/tenants/get`, on(tenants.getTenant))
      .add('POST', `${base}/tenants/list`, on(tenants.listTenants))
      .add('POST', `${base}/tenants/delete`, on(tenants.deleteTenant))
      .add('POST', `${base}/tenants/resources`, on(tenants.createTenantResourceAssociation))
      .add('POST', `${base}/tenants/resources/delete`, on(tenants.deleteTenantResourceAssociation))
      .add('POST', `${base}/tenants/resources/list`, on(tenants.listTenantResources))
      .add('POST', `${base}/resources/tenants/list`, on(tenants.listResourceTenants))
      // Configuration sets and event destinations
      .add('POST', `${base}/configuration-sets`, on(sets.createConfigurationSet))
      .add('GET', `${base}/configuration-sets`, on(sets.listConfigurationSets))
      .add('POST', `${base}/list-configuration-sets`, on(sets.listConfigurationSets))
      .add('GET', set, on(sets.getConfigurationSet))
      .add('DELETE', set, on(sets.deleteConfigurationSet))
      .add('PUT', `${set}/sending`, on(sets.putConfigurationSetSendingOptions))
      .add('PUT', `${set}/suppression-options`, on(sets.putConfigurationSetSuppressionOptions))
      .add('POST', `${set}/event-destinations`, on(sets.createEventDestination))
      .add('GET', `${set}/event-destinations`, on(sets.getEventDestinations))
      .add('PUT', `${set}/event-destinations/{EventDestinationName}`, on(sets.updateEventDestination))
      .add('DELETE', `${set}/event-destinations/{EventDestinationName}`, on(sets.deleteEventDestination))
      // Emulator extensions (not part of SES)
      .add('GET', '/_local', on(viewer.overview))
      .add('GET', '/_local/messages', on(viewer.listMessages))
      .add('DELETE', '/_local/messages', on(viewer.clearMessages))
      .add('GET', '/_local/events', on(viewer.listEvents))
      .add('GET', '/_local/verify/{Token}', on(viewer.verifyLink))
      .add('POST', '/_local/identities/{EmailIdentity}/verify', on(viewer.verifyIdentity))
      .add('POST', '/_local/account', on(patchAccount))
      .add('GET', '/_local/clock', on(viewer.readClock))
      .add('POST', '/_local/clock', on(viewer.advanceClock))
  );
}
