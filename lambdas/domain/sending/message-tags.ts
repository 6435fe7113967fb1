/** Names of the SES message tags we set; feedback events carry them back for correlation. */
export const MESSAGE_TAGS = {
  messageId: 'message-id',
  tenantId: 'tenant-id',
  environment: 'environment',
} as const;
