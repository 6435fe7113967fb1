import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { LAMBDA_BUNDLE, LAZY_MODULES } from '../../lib/constructs/tenant-mail-function';

const HANDLERS_DIR = join(__dirname, '..', '..', 'lambdas', 'handlers');

/**
 * Minified size budget of each function's bundle, in KiB: a little above what it is, so a dependency or an import
 * that grows a bundle fails here and is a decision, not an accident. The sizes against a reference handler and
 * the cold-start times are measured by `npm run bench -- --only bundles` (docs/benchmarks.md).
 */
const BUDGET_KIB: Record<string, number> = {
  'dispatch-events.handler.ts': 470,
  'process-feedback.handler.ts': 372,
  'publish-status-events.handler.ts': 235,
  'refresh-identities.handler.ts': 385,
  'send-email.handler.ts': 585,
  'sweep-stuck.handler.ts': 340,
};

/** Budgets of the {@link LAZY_MODULES}, bundled beside their function's `index.js` and loaded at first use. */
const LAZY_BUDGET_KIB: Record<string, number> = {
  'send-email.relay': 445,
  'send-email.lanes': 190,
};

/**
 * Code that only the external-smtp method runs: nodemailer's SMTP client (MailComposer stays, every method needs
 * it) and the Secrets Manager store of the relays' passwords.
 */
const SMTP_ONLY_INPUTS = [
  /nodemailer\/dist\/esm\/(smtp-connection|smtp-pool|smtp-transport|xoauth2)\//,
  /lambdas\/adapters\/smtp\/nodemailer-relay-sender\.ts$/,
  /@aws-sdk\/client-secrets-manager\//,
  /lambdas\/adapters\/secrets\/secrets-manager-secret-store\.ts$/,
];

/**
 * The links of the SDK's default credential chain a Lambda function never runs (its credentials are in the
 * environment), with the STS / SSO / sign-in clients they carry: replaced by lambdas/shared/lambda-credentials.ts.
 */
const UNUSED_CREDENTIAL_CHAIN =
  /@aws-sdk\/(credential-provider-(node|ini|sso|process|web-identity|login|http)|nested-clients|token-providers)\/|@smithy\/credential-provider-imds\//;

const handlers = readdirSync(HANDLERS_DIR).filter((file) => file.endsWith('.handler.ts'));

async function bundle(entry: string): Promise<{ kib: number; bundled: string[] }> {
  const result = await build({
    ...LAMBDA_BUNDLE,
    mainFields: [...LAMBDA_BUNDLE.mainFields],
    external: [...LAMBDA_BUNDLE.external],
    entryPoints: [join(HANDLERS_DIR, entry)],
    outdir: '/bundle',
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  const code = result.outputFiles.find((file) => file.path.endsWith('.js'));
  expect(code).toBeDefined();
  return { kib: (code?.contents.byteLength ?? 0) / 1024, bundled: bundledInputs(result.metafile) };
}

/** Inputs esbuild visited but tree-shook away have no bytes in the output. */
function bundledInputs(metafile: Metafile): string[] {
  return Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([path]) => path),
  );
}

describe('Lambda bundle budgets', () => {
  it('has a budget for every function and every module loaded at first use', () => {
    expect(handlers.sort()).toEqual(Object.keys(BUDGET_KIB).sort());
    expect(Object.values(LAZY_MODULES).flat().sort()).toEqual(Object.keys(LAZY_BUDGET_KIB).sort());
  });

  it.each(handlers)(
    'keeps %s within its budget, without locale tables or the unused credential providers',
    async (handlerFile) => {
      const { kib, bundled } = await bundle(handlerFile);
      expect(Math.round(kib)).toBeLessThanOrEqual(BUDGET_KIB[handlerFile] ?? 0);
      expect(bundled.filter((path) => path.includes('zod/v4/locales/') && !path.endsWith('/en.js'))).toEqual(
        [],
      );
      expect(bundled.filter((path) => UNUSED_CREDENTIAL_CHAIN.test(path))).toEqual([]);
      expect(bundled).toContain('lambdas/shared/lambda-credentials.ts');
    },
  );

  it.each(Object.keys(LAZY_BUDGET_KIB))('keeps the lazily loaded %s within its budget', async (module) => {
    const { kib } = await bundle(`${module}.ts`);
    expect(Math.round(kib)).toBeLessThanOrEqual(LAZY_BUDGET_KIB[module] ?? 0);
  });

  it("keeps the SQS client, used only to defer, out of the sender's index.js and in its lanes module", async () => {
    const sqsClient = (paths: string[]) => paths.filter((path) => path.includes('@aws-sdk/client-sqs/'));

    const sender = await bundle('send-email.handler.ts');
    const lanes = await bundle('send-email.lanes.ts');

    expect(sqsClient(sender.bundled)).toEqual([]);
    expect(sqsClient(lanes.bundled)).toEqual(
      expect.arrayContaining([expect.stringContaining('@aws-sdk/client-sqs/dist-es/SQSClient.js')]),
    );
    expect(lanes.bundled).toContain('lambdas/adapters/sqs-send-lanes.ts');
  });

  it("keeps the relay's SMTP client and secret store out of the sender's index.js and in its relay module", async () => {
    const smtpOnly = (paths: string[]) =>
      paths.filter((path) => SMTP_ONLY_INPUTS.some((pattern) => pattern.test(path)));

    const sender = await bundle('send-email.handler.ts');
    const relay = await bundle('send-email.relay.ts');

    expect(smtpOnly(sender.bundled)).toEqual([]);
    expect(smtpOnly(relay.bundled)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('nodemailer/dist/esm/smtp-connection/'),
        expect.stringContaining('nodemailer/dist/esm/smtp-pool/'),
        expect.stringContaining('lambdas/adapters/smtp/nodemailer-relay-sender.ts'),
        expect.stringContaining('@aws-sdk/client-secrets-manager/'),
        expect.stringContaining('lambdas/adapters/secrets/secrets-manager-secret-store.ts'),
      ]),
    );
  });
});
