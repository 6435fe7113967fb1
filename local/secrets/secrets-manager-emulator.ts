import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { FileSecretStore } from '../../lambdas/adapters/secrets/file-secret-store';
import { SecretNotFoundError } from '../../lambdas/domain/smtp/secret-store';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../emulators/local-aws';

export interface SecretsManagerEmulator {
  /** `http://127.0.0.1:<port>`: the endpoint for `SecretsManagerClient` (AWS_ENDPOINT_URL_SECRETS_MANAGER). */
  readonly url: string;
  readonly store: FileSecretStore;
  stop(): Promise<void>;
}

export interface SecretsManagerEmulatorOptions {
  /** Folder of the secrets file (the local twin keeps it under `.local/secrets`). */
  readonly folder: string;
  /** @default 0 (a free port) */
  readonly port?: number;
}

/**
 * The few Secrets Manager operations tenant-mail uses (GetSecretValue, CreateSecret, PutSecretValue), over the
 * real JSON protocol, backed by the local file secret store. With it the local twin runs the deployed sender
 * bundle unchanged: its SecretsManagerSecretStore reads tenant relay passwords from here.
 */
export async function startSecretsManagerEmulator(
  options: SecretsManagerEmulatorOptions,
): Promise<SecretsManagerEmulator> {
  const store = new FileSecretStore({ folder: options.folder });
  const reply = (response: ServerResponse, status: number, payload: object) => {
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
    response.end(JSON.stringify(payload));
  };
  const arn = (name: string) => `arn:aws:secretsmanager:${LOCAL_REGION}:${LOCAL_ACCOUNT}:secret:${name}`;
  const server = createServer(async (request: IncomingMessage, response) => {
    let text = '';
    for await (const chunk of request) text += String(chunk);
    const operation = String(request.headers['x-amz-target'] ?? '').replace('secretsmanager.', '');
    try {
      const input = JSON.parse(text || '{}') as { SecretId?: string; Name?: string; SecretString?: string };
      switch (operation) {
        case 'GetSecretValue': {
          const name = String(input.SecretId);
          const value = await store.get(name);
          return reply(response, 200, {
            ARN: arn(name),
            Name: name,
            SecretString: value,
            VersionId: 'local',
          });
        }
        case 'CreateSecret':
        case 'PutSecretValue': {
          const name = String(input.Name ?? input.SecretId);
          await store.put(name, String(input.SecretString ?? ''));
          return reply(response, 200, { ARN: arn(name), Name: name, VersionId: 'local' });
        }
        default:
          return reply(response, 400, {
            __type: 'InvalidRequestException',
            message: `${operation} is not emulated locally`,
          });
      }
    } catch (error) {
      if (error instanceof SecretNotFoundError) {
        return reply(response, 400, {
          __type: 'ResourceNotFoundException',
          message: "Secrets Manager can't find the specified secret.",
        });
      }
      return reply(response, 500, { __type: 'InternalServiceError', message: (error as Error).message });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
