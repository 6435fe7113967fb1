import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (the `alias` of LAMBDA_BUNDLE in
 * lib/constructs/tenant-mail-function.ts): the SDK clients' default credential chain, cut to the one link that
 * serves a Lambda function. Lambda hands a function its execution role's credentials in the reserved variables
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which the full chain also reads first. Its other
 * links (SSO, shared config files, credential process, web identity, container and instance metadata) and the STS,
 * SSO and sign-in clients they carry are about 90 KiB of every bundle that never run there; a bundler cannot drop
 * them by itself (aws/aws-sdk-js-v3#5516, #6087). Code outside the bundles (CLI, tests, twin host) keeps the chain.
 */
export const defaultProvider = (init?: Parameters<typeof fromEnv>[0]) => fromEnv(init);
