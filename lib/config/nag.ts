import { type Stack, Token } from 'aws-cdk-lib';

/**
 * An ARN of this stack's account and region as cdk-nag spells it in a finding id (`AwsSolutions-IAM5[Resource::…]`):
 * pseudo parameters where the stack is environment-agnostic, the configured values where the scope pins them.
 */
export function nagArn(stack: Stack, service: string, resource: string): string {
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const account = Token.isUnresolved(stack.account) ? '<AWS::AccountId>' : stack.account;
  return `arn:<AWS::Partition>:${service}:${region}:${account}:${resource}`;
}
