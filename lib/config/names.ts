import { type Stack, Token } from 'aws-cdk-lib';
import type { Scope } from '../../lambdas/domain/scope';

/**
 * Every physical name of a scope's deployment starts with this prefix (tables `<prefix>-<table>`, queues
 * `<prefix>-<queue>`, the configuration set `<prefix>`), so the stack, the local twin and the operator CLI
 * agree without looking anything up.
 */
export function resourcePrefix(scope: Scope): string {
  return `tenant-mail-${scope}`;
}

/**
 * An ARN of this stack's account and region as cdk-nag spells it in a finding id (`AwsSolutions-IAM5[Resource::…]`):
 * pseudo parameters where the stack is environment-agnostic, the configured values where the scope pins them.
 */
export function nagArn(stack: Stack, service: string, resource: string): string {
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return `arn:<AWS::Partition>:${service}:${region}:${account}:${resource}`;
}
