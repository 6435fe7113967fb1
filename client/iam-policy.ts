import type { Scope } from '../lambdas/domain/scope';
import { resourcePrefix } from '../lib/config/names';

/** One statement of the admin client's IAM policy: what it allows, and which operations need it. */
export interface AdminStatement {
  readonly sid: string;
  /** The admin client operations (and CLI commands) that need it. */
  readonly usedBy: string;
  readonly actions: readonly string[];
  /** ARN patterns; `{region}`, `{account}` and `{prefix}` (`tenant-mail-<scope>`) are filled in. */
  readonly resources: readonly string[];
  readonly condition?: Record<string, Record<string, string>>;
}

/**
 * The one list of permissions an admin backend (or an operator running the CLI) needs for one scope. The README's
 * CLI section and docs/integration.md are generated from it (`npm run docs:iam`), and a test checks they match.
 */
export const ADMIN_STATEMENTS: readonly AdminStatement[] = [
  {
    sid: 'Tables',
    usedBy:
      'tenants, identities, smtp, definitions, templates, suppressions, messages, pause/resume, selftest',
    actions: [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
      'dynamodb:ConditionCheckItem',
    ],
    resources: [
      'arn:aws:dynamodb:{region}:{account}:table/{prefix}-*',
      'arn:aws:dynamodb:{region}:{account}:table/{prefix}-*/index/*',
    ],
  },
  {
    sid: 'TableKey',
    usedBy: 'every table and queue operation (customer-managed KMS key of the scope)',
    actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'],
    resources: ['arn:aws:kms:{region}:{account}:key/*'],
    condition: {
      'ForAnyValue:StringEquals': {
        'kms:ViaService': 'dynamodb.{region}.amazonaws.com,sqs.{region}.amazonaws.com',
      },
    },
  },
  {
    sid: 'SesIdentities',
    usedBy: 'identities add-domain/add-email/status --refresh/delete (SES identity, SES tenant, association)',
    actions: [
      'ses:CreateEmailIdentity',
      'ses:GetEmailIdentity',
      'ses:DeleteEmailIdentity',
      'ses:CreateTenant',
      'ses:GetTenant',
      'ses:CreateTenantResourceAssociation',
      'ses:DeleteTenantResourceAssociation',
      'ses:TagResource',
    ],
    resources: ['arn:aws:ses:{region}:{account}:*'],
  },
  {
    sid: 'Queues',
    usedBy: 'event publish, message resend, tenant resume, selftest (send lanes), dlq list/redrive',
    actions: [
      'sqs:GetQueueUrl',
      'sqs:GetQueueAttributes',
      'sqs:SendMessage',
      'sqs:ReceiveMessage',
      'sqs:DeleteMessage',
      'sqs:ChangeMessageVisibility',
      'sqs:StartMessageMoveTask',
    ],
    resources: ['arn:aws:sqs:{region}:{account}:{prefix}-*'],
  },
  {
    sid: 'RelaySecrets',
    usedBy: 'smtp put (writes the credential), smtp test (reads it)',
    actions: [
      'secretsmanager:CreateSecret',
      'secretsmanager:PutSecretValue',
      'secretsmanager:GetSecretValue',
      'secretsmanager:TagResource',
    ],
    resources: ['arn:aws:secretsmanager:{region}:{account}:secret:tenant-mail/{scope}/tenants/*'],
  },
];

export interface PolicyTarget {
  readonly account: string;
  readonly region: string;
}

const fill = (text: string, scope: Scope, target: PolicyTarget) =>
  text
    .replaceAll('{region}', target.region)
    .replaceAll('{account}', target.account)
    .replaceAll('{prefix}', resourcePrefix(scope))
    .replaceAll('{scope}', scope);

/** The admin policy of one scope as an IAM policy document. */
export function adminPolicyDocument(scope: Scope, target: PolicyTarget): object {
  return {
    Version: '2012-10-17',
    Statement: ADMIN_STATEMENTS.map((s) => ({
      Sid: s.sid,
      Effect: 'Allow',
      Action: [...s.actions],
      Resource: s.resources.map((r) => fill(r, scope, target)),
      ...(s.condition
        ? {
            Condition: Object.fromEntries(
              Object.entries(s.condition).map(([op, values]) => [
                op,
                Object.fromEntries(
                  Object.entries(values).map(([k, v]) => [
                    k,
                    v.split(',').map((part) => fill(part, scope, target)),
                  ]),
                ),
              ]),
            ),
          }
        : {}),
    })),
  };
}

/** The statements as a Markdown table (README, docs/integration.md), columns padded as the formatter keeps them. */
export function adminPolicyMarkdown(): string {
  const header = ['statement', 'actions', 'resources', 'used by'];
  const rows = ADMIN_STATEMENTS.map((s) => [
    `\`${s.sid}\``,
    s.actions.map((a) => `\`${a}\``).join(', '),
    s.resources.map((r) => `\`${r}\``).join('<br>'),
    s.usedBy,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
