import type { EmulatorContext } from './emulator-context';
import type { ApiRequest, ApiResponse } from './http-router';
import { optionalBoolean, stringList } from './request-fields';

/** `GET /v2/email/account`: quota, sandbox (ProductionAccessEnabled) and the paused flag. */
export function getAccount(ctx: EmulatorContext): ApiResponse {
  const { account } = ctx.store;
  return {
    json: {
      DedicatedIpAutoWarmupEnabled: false,
      EnforcementStatus: 'HEALTHY',
      ProductionAccessEnabled: !account.sandbox,
      SendQuota: {
        Max24HourSend: account.max24HourSend,
        MaxSendRate: account.maxSendRate,
        SentLast24Hours: ctx.store.sentInLast24Hours(ctx.now()),
      },
      SendingEnabled: account.sendingEnabled,
      SuppressionAttributes: { SuppressedReasons: account.suppressedReasons },
    },
  };
}

/** `PUT /v2/email/account/sending`: pauses or resumes the whole account. */
export function putAccountSendingAttributes(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  ctx.store.account.sendingEnabled = optionalBoolean(request.body, 'SendingEnabled') ?? false;
  return { json: {} };
}

/** `PUT /v2/email/account/suppression`: which reasons the account-level list applies. */
export function putAccountSuppressionAttributes(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  ctx.store.account.suppressedReasons = stringList(request.body, 'SuppressedReasons');
  return { json: {} };
}

/** Emulator extension `POST /_local/account`: changes sandbox, rates or the paused flag at run time. */
export function patchAccount(ctx: EmulatorContext, request: ApiRequest): ApiResponse {
  const { account } = ctx.store;
  const { body } = request;
  if (typeof body.sandbox === 'boolean') account.sandbox = body.sandbox;
  if (typeof body.sendingEnabled === 'boolean') account.sendingEnabled = body.sendingEnabled;
  if (typeof body.maxSendRate === 'number') account.maxSendRate = body.maxSendRate;
  if (typeof body.max24HourSend === 'number') account.max24HourSend = body.max24HourSend;
  return getAccount(ctx);
}
