import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../emulators/local-aws';
import { type EventBridgeEmulator, startEventBridgeEmulator } from './eventbridge-emulator';

/** One scope's EventBridge (its own account's), as the twin runs it. */
export interface ScopeEventBus {
  /** Endpoint for `EventBridgeClient` (`AWS_ENDPOINT_URL_EVENTBRIDGE` of the scope's functions). */
  readonly url: string;
  readonly emulator: EventBridgeEmulator;
  /** A client of it, for the provisioner (it creates the template's buses) and the platform's rules. */
  readonly client: EventBridgeClient;
  stop(): Promise<void>;
}

/**
 * Starts a scope's EventBridge emulator on 127.0.0.1; SQS targets of its rules are delivered through `sqs`
 * (fauxqs). The provisioner creates the template's `tenant-mail.<scope>` bus on it.
 */
export async function startScopeEventBus(sqs: SQSClient): Promise<ScopeEventBus> {
  const emulator = await startEventBridgeEmulator({ sqs });
  const client = new EventBridgeClient({
    endpoint: emulator.url,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  return {
    url: emulator.url,
    emulator,
    client,
    async stop() {
      client.destroy();
      await emulator.stop();
    },
  };
}
