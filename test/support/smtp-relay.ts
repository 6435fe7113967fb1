/** The local SMTP relay lives with the local twin (it stands in for a tenant's relay there too). */
export * from '../../local/smtp/smtp-relay';
