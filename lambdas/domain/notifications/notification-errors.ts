import { PermanentError } from '../errors';

/** One problem found while validating input, with the dotted path of the offending field (`data.invoices[3].currency`). */
export interface ValidationIssue {
  readonly path: string;
  readonly message: string;
}

function describe(subject: string, issues: readonly ValidationIssue[]): string {
  const shown = issues
    .slice(0, 10)
    .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message));
  const more = issues.length > 10 ? `; and ${issues.length - 10} more` : '';
  return `${subject}: ${shown.join('; ')}${more}`;
}

/**
 * Base of every "this input can never be accepted" error in the notifications domain: it carries the list of
 * issues so a handler can record all of them as the reason, and it is permanent, so the message is not retried.
 */
export abstract class NotificationValidationError extends PermanentError {
  constructor(
    code: string,
    subject: string,
    readonly issues: readonly ValidationIssue[],
    options?: ErrorOptions,
  ) {
    super(code, describe(subject, issues), options);
  }
}

/** A message on the events queue is not a valid CloudEvent of a supported type (code `INVALID_EVENT`). */
export class InvalidEventError extends NotificationValidationError {
  constructor(issues: readonly ValidationIssue[], options?: ErrorOptions) {
    super('INVALID_EVENT', 'invalid event', issues, options);
    this.name = 'InvalidEventError';
  }
}

/** An already-composed email message is invalid (code `INVALID_EMAIL`). */
export class InvalidComposedEmailError extends NotificationValidationError {
  constructor(issues: readonly ValidationIssue[], options?: ErrorOptions) {
    super('INVALID_EMAIL', 'invalid composed email', issues, options);
    this.name = 'InvalidComposedEmailError';
  }
}

/** A notification definition is invalid (code `INVALID_DEFINITION`). */
export class InvalidDefinitionError extends NotificationValidationError {
  constructor(issues: readonly ValidationIssue[], options?: ErrorOptions) {
    super('INVALID_DEFINITION', 'invalid notification definition', issues, options);
    this.name = 'InvalidDefinitionError';
  }
}

/** A template is invalid: bad fields, a disallowed header, or Liquid that does not parse (code `INVALID_TEMPLATE`). */
export class InvalidTemplateError extends NotificationValidationError {
  constructor(issues: readonly ValidationIssue[], options?: ErrorOptions) {
    super('INVALID_TEMPLATE', 'invalid template', issues, options);
    this.name = 'InvalidTemplateError';
  }
}

/**
 * Rendering one email failed (engine error, a limit hit, an output too large, or a line break in a header-bound
 * value). The code matches SES's `RenderingFailure` event so both end in the same REJECTED reason; the message
 * is the engine's own, so the tenant can fix the template.
 */
export class TemplateRenderError extends PermanentError {
  constructor(
    readonly templateId: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super('RENDERING_FAILURE', `template ${templateId} failed to render: ${message}`, options);
    this.name = 'TemplateRenderError';
  }
}

/** A definition names a template the tenant does not have (code `TEMPLATE_NOT_FOUND`). */
export class TemplateNotFoundError extends PermanentError {
  constructor(
    readonly tenantId: string,
    readonly templateId: string,
    options?: ErrorOptions,
  ) {
    super('TEMPLATE_NOT_FOUND', `tenant ${tenantId} has no template ${templateId}`, options);
    this.name = 'TemplateNotFoundError';
  }
}

/** A template cannot be deleted while definitions still send it (code `TEMPLATE_IN_USE`). */
export class TemplateInUseError extends PermanentError {
  constructor(
    readonly tenantId: string,
    readonly templateId: string,
    readonly definitionIds: readonly string[],
    options?: ErrorOptions,
  ) {
    super(
      'TEMPLATE_IN_USE',
      `template ${templateId} of tenant ${tenantId} is used by definitions ${definitionIds.join(', ')}`,
      options,
    );
    this.name = 'TemplateInUseError';
  }
}
