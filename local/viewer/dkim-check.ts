import { Resolver } from 'node:dns/promises';
import type { DNSResolver } from 'mailauth';
import { dkimVerify } from 'mailauth/lib/dkim/verify';

/** One DKIM-Signature of a message and what verifying it gave. */
export interface DkimSignatureCheck {
  /** `d=`, or `(none)` when the message carries no signature (mailauth then reports one `none` result). */
  readonly domain: string;
  readonly selector?: string;
  readonly algorithm?: string;
  /** mailauth's result keyword: `pass`, `fail`, `neutral`, `none`, `temperror`, `permerror`, `policy`… */
  readonly result: string;
  readonly comment?: string;
  /** The signing domain when it aligns with From. */
  readonly aligned?: string;
}

export interface DkimChecker {
  /** Verifies the message's exact bytes: a single altered byte in a signed part fails its signature. */
  verify(rawMessage: Buffer): Promise<DkimSignatureCheck[]>;
}

/**
 * Verifies DKIM signatures with mailauth, looking keys up through `dnsServer` ('host:port', the local DNS
 * server of the twin, which serves the emulator's keys) or the system resolver when absent.
 * Lookups time out after 2 s so an unreachable server shows as `temperror` instead of hanging the page.
 */
export function createDkimChecker(dnsServer?: string): DkimChecker {
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  if (dnsServer) resolver.setServers([dnsServer]);
  const lookup: DNSResolver = (name, rrtype) =>
    resolver.resolve(name, rrtype) as Promise<string[][] | string[]>;
  return {
    async verify(rawMessage) {
      const outcome = await dkimVerify(rawMessage, { resolver: lookup });
      return outcome.results.map((entry) => ({
        domain: entry.signingDomain ?? '(none)',
        ...(entry.selector ? { selector: entry.selector } : {}),
        ...(entry.algo ? { algorithm: entry.algo } : {}),
        result: entry.status.result,
        ...(entry.status.comment ? { comment: entry.status.comment } : {}),
        ...(entry.status.aligned ? { aligned: entry.status.aligned } : {}),
      }));
    },
  };
}
