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
 * The scope's EventBridge bus of status events, `tenant-mail.<scope>`: the platform's rules attach to it, so its
 * name is fixed and documented (docs/events.md "Events out").
 */
export function statusEventBusName(scope: Scope): string {
  return `tenant-mail.${scope}`;
}
