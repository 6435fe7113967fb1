import type { SmtpPutResult, SmtpTestResult } from '../../client/smtp';
import type { ConnectionStep } from '../../lambdas/domain/smtp/relay-sender';

const STEP_NAMES: Record<ConnectionStep, string> = {
  connect: 'TCP connect',
  tls: 'TLS handshake (implicit TLS)',
  greeting: 'server greeting (220)',
  ehlo: 'EHLO',
  starttls: 'STARTTLS upgrade',
  auth: 'authentication',
};

/** The readable report of `smtp test`: one line per step, and the failed step with the server's reply. */
export function formatConnectionReport({ settings, report }: SmtpTestResult): string {
  const who = settings.auth.type === 'password' ? settings.auth.username : settings.auth.user;
  const lines = [
    `relay ${settings.host}:${settings.port} (${settings.security}, ${settings.auth.type} auth as ${who}, provider ${settings.provider})`,
  ];
  if (!('steps' in report)) {
    lines.push(`  FAILED  reading the credential: ${report.reason}`, 'connection test failed at: credential');
    return lines.join('\n');
  }
  for (const step of report.steps) {
    const detail = report.ok && step === 'starttls' && report.tlsProtocol ? ` (${report.tlsProtocol})` : '';
    lines.push(`  ok      ${STEP_NAMES[step]}${detail}`);
  }
  if (report.ok) {
    lines.push(`connection test passed${report.tlsProtocol ? ` over ${report.tlsProtocol}` : ''}`);
    return lines.join('\n');
  }
  lines.push(`  FAILED  ${STEP_NAMES[report.failedStep]}: ${report.reason}`);
  if ('reply' in report && report.reply) {
    const code = [report.reply.code, report.reply.enhancedCode].filter(Boolean).join(' ');
    lines.push(`          server replied: ${report.reply.text || code}`);
  }
  if ('errorCode' in report && report.errorCode) lines.push(`          error code: ${report.errorCode}`);
  lines.push(`connection test failed at: ${report.failedStep}`);
  return lines.join('\n');
}

export function formatSmtpSaved(result: SmtpPutResult, local: boolean): string {
  const s = result.settings;
  return [
    `saved SMTP settings of ${result.tenantId}/${result.environment}: method external-smtp via ${s.host}:${s.port} (${s.security}, provider ${s.provider})`,
    result.secret.written
      ? `credential stored as ${result.secret.ref} in Secrets Manager`
      : `credential unchanged: ${result.secret.ref} in Secrets Manager`,
    `effective limits: ${JSON.stringify(s.limits)}`,
    `check it with: tenant-mail smtp test --tenant ${result.tenantId} --env ${result.environment}${local ? ' --local' : ''}`,
  ].join('\n');
}
