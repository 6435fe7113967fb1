import dns2 from 'dns2';
import { onFreePort } from '../emulators/free-port';

const { Packet } = dns2;

/** Record types the local DNS server answers. */
export type LocalRecordType = 'A' | 'CNAME' | 'TXT' | 'MX';

export interface LocalMxRecord {
  readonly exchange: string;
  readonly priority: number;
}

export type LocalRecordValue = string | LocalMxRecord;

export interface LocalDnsServer {
  /** Host the server listens on (always 127.0.0.1). */
  readonly host: string;
  /** UDP and TCP port. */
  readonly port: number;
  /** `127.0.0.1:<port>`, the form `dns.Resolver#setServers` takes. */
  readonly server: string;
  /** Replaces every record of `type` at `name`. An empty list removes them. */
  setRecords(name: string, type: LocalRecordType, values: readonly LocalRecordValue[]): void;
  /** Removes every record at `name`, of every type. */
  removeName(name: string): void;
  /** Removes every record. */
  clear(): void;
  stop(): Promise<void>;
}

export interface LocalDnsServerOptions {
  /** @default 0 (a free port) */
  readonly port?: number;
}

const TYPE_CODES: Record<LocalRecordType, number> = {
  A: Packet.TYPE.A,
  CNAME: Packet.TYPE.CNAME,
  TXT: Packet.TYPE.TXT,
  MX: Packet.TYPE.MX,
};

/** dns2 encodes plain answer objects; its typings describe the decoded class. */
type Answer = Omit<dns2.Packet.Resource, 'toBuffer'>;

const normalise = (name: string): string => name.trim().toLowerCase().replace(/\.$/, '');

/** Splits a TXT value into the 255-octet character-strings DNS carries. */
const txtStrings = (value: string): string[] => {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(value.slice(i, i + 255));
  return parts.length > 0 ? parts : [''];
};

/**
 * An authoritative DNS server on 127.0.0.1 (UDP and TCP on one port) whose records tests and the local
 * twin set at run time. It follows CNAME chains in its answers, as a recursive resolver would, so a
 * DKIM key published behind `<token>._domainkey.<domain> CNAME <token>.dkim.amazonses.com` resolves.
 */
export async function startLocalDnsServer(options: LocalDnsServerOptions = {}): Promise<LocalDnsServer> {
  const zone = new Map<string, Map<LocalRecordType, LocalRecordValue[]>>();

  const answersFor = (name: string, type: number, depth: number): Answer[] => {
    const records = zone.get(normalise(name));
    if (!records || depth > 8) return [];
    const cname = records.get('CNAME')?.[0];
    if (cname !== undefined && typeof cname === 'string' && type !== Packet.TYPE.CNAME) {
      const alias = { name, type: Packet.TYPE.CNAME, class: Packet.CLASS.IN, ttl: 60, domain: cname };
      return [alias, ...answersFor(cname, type, depth + 1)];
    }
    const entry = (Object.entries(TYPE_CODES) as [LocalRecordType, number][]).find(
      ([, code]) => code === type,
    );
    if (!entry) return [];
    const values = records.get(entry[0]) ?? [];
    return values.map((value) => {
      const base = { name, type, class: Packet.CLASS.IN, ttl: 60 };
      if (typeof value !== 'string') return { ...base, exchange: value.exchange, priority: value.priority };
      if (entry[0] === 'A') return { ...base, address: value };
      if (entry[0] === 'CNAME') return { ...base, domain: value };
      return { ...base, data: txtStrings(value) };
    });
  };

  const handle: dns2.DnsHandler = (request, send) => {
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    if (question) {
      response.answers.push(...(answersFor(question.name, question.type, 0) as dns2.Packet.Resource[]));
      if (response.answers.length === 0 && !zone.has(normalise(question.name))) {
        response.header.rcode = Packet.RCODE.NXDOMAIN;
      }
    }
    void send(response);
  };

  // UDP takes a port from the OS; TCP must then bind the same number, which another process may hold (or take
  // first, under parallel test runs): then both start again on a new port.
  const bind = async () => {
    const udp = dns2.createUDPServer(handle);
    await udp.listen(options.port ?? 0, '127.0.0.1');
    const port = udp.address().port;
    const tcp = dns2.createTCPServer(handle);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(port, '127.0.0.1', () => resolve());
      });
    } catch (error) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      throw error;
    }
    return { udp, tcp, port };
  };
  const { udp, tcp, port } =
    options.port === undefined
      ? await onFreePort(() => bind(), {
          pick: async () => 0,
          isPortTaken: (error) => (error as NodeJS.ErrnoException).code === 'EADDRINUSE',
        })
      : await bind();

  return {
    host: '127.0.0.1',
    port,
    server: `127.0.0.1:${port}`,
    setRecords(name, type, values) {
      const key = normalise(name);
      const records = zone.get(key) ?? new Map<LocalRecordType, LocalRecordValue[]>();
      if (values.length === 0) records.delete(type);
      else records.set(type, [...values]);
      if (records.size === 0) zone.delete(key);
      else zone.set(key, records);
    },
    removeName(name) {
      zone.delete(normalise(name));
    },
    clear() {
      zone.clear();
    },
    stop: async () => {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      await new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
