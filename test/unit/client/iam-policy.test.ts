import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { documentedPolicy, IAM_DOC_FILES } from '../../../client/iam-docs';
import { ADMIN_STATEMENTS, adminPolicyDocument, adminPolicyMarkdown } from '../../../client/iam-policy';

const root = join(__dirname, '..', '..', '..');

describe('the admin client’s IAM policy (one statement list)', () => {
  it.each(IAM_DOC_FILES)('%s shows exactly the generated statements (npm run docs:iam)', (file) => {
    expect(documentedPolicy(readFileSync(join(root, file), 'utf8'))).toBe(adminPolicyMarkdown());
  });

  it('fills every ARN for the scope, account and region, and names actions as service:Operation', () => {
    const document = adminPolicyDocument('prod', { account: '123456789012', region: 'eu-west-1' }) as {
      Statement: { Action: string[]; Resource: string[]; Condition?: object }[];
    };
    expect(document.Statement).toHaveLength(ADMIN_STATEMENTS.length);
    for (const statement of document.Statement) {
      for (const action of statement.Action)
        expect(action).toMatch(/^(dynamodb|kms|ses|sqs|secretsmanager):[A-Z][A-Za-z]+$/);
      for (const resource of statement.Resource) {
        expect(resource).toMatch(/^arn:aws:[a-z]+:eu-west-1:123456789012:/);
        expect(resource).not.toMatch(/[{}]/);
      }
    }
    const resources = document.Statement.flatMap((s) => s.Resource);
    expect(resources).toContain('arn:aws:dynamodb:eu-west-1:123456789012:table/tenant-mail-prod-*');
    expect(resources).toContain(
      'arn:aws:secretsmanager:eu-west-1:123456789012:secret:tenant-mail/prod/tenants/*',
    );
    expect(JSON.stringify(document)).not.toContain('tenant-mail-dev');
  });
});
