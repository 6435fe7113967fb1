import type { Resolver } from 'node:dns/promises';
import type { LocalDnsServer } from '../dns/dns-server';
import type { DkimSigner } from './dkim-keys';
import type { EmulatorStore } from './emulator-store';
import type { EventPublisher } from './event-publisher';
import type { VirtualClock } from './virtual-clock';

/** What every operation handler shares: state, identity of the fake account, DNS and the event publisher. */
export interface EmulatorContext {
  readonly store: EmulatorStore;
  readonly region: string;
  readonly accountId: string;
  /** Set when DKIM keys should be published into a local DNS server. */
  readonly dns: LocalDnsServer | undefined;
  /** Resolver for the DKIM CNAME check; undefined when no DNS server was configured (domains stay PENDING). */
  readonly resolver: Resolver | undefined;
  readonly dkimKeyBits: number;
  /** Base URL of the local verification links (the emulator's own URL unless configured). */
  readonly verificationBaseUrl: () => string;
  /** The key of the `d=amazonses.com` signature every message carries. */
  readonly amazonSesSigner: DkimSigner;
  readonly events: EventPublisher;
  /** The emulator's clock (ms): send rate and quota windows, identity deadlines, timestamps. */
  readonly now: () => number;
  /** The same clock, for `POST /_local/clock`. */
  readonly clock: VirtualClock;
}

export const identityArn = (ctx: EmulatorContext, name: string): string =>
  `arn:aws:ses:${ctx.region}:${ctx.accountId}:identity/${name}`;

export const configurationSetArn = (ctx: EmulatorContext, name: string): string =>
  `arn:aws:ses:${ctx.region}:${ctx.accountId}:configuration-set/${name}`;

export const tenantArn = (ctx: EmulatorContext, name: string, id: string): string =>
  `arn:aws:ses:${ctx.region}:${ctx.accountId}:tenant/${name}/${id}`;
