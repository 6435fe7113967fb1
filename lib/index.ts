/**
 * `tenant-mail`: the construct API for a platform's own CDK app. One {@link ScopeStage} per verification scope
 * (`prod`, `dev`), each with its stateful and stateless stack, configured by a {@link ScopeConfig} that
 * {@link resolveScopeConfig} validates (or {@link loadScopeConfigs} reads from the `tenantMail` context).
 * Needs `aws-cdk-lib`, `constructs` and `esbuild` (the functions are bundled from this package's sources at synth).
 */
export {
  ENVIRONMENTS,
  type Environment,
  SCOPE_ENVIRONMENTS,
  SCOPES,
  type Scope,
  SENDING_METHODS,
  type SendingMethod,
} from '../lambdas/domain/scope';
export { resourcePrefix } from './config/names';
export {
  loadScopeConfigs,
  type RawScopeSettings,
  resolveScopeConfig,
  type ScopeConfig,
  ScopeConfigError,
} from './config/scope-config';
export { StatefulStack, type StatefulStackProps } from './stacks/stateful-stack';
export { StatelessStack, type StatelessStackProps } from './stacks/stateless-stack';
export { ScopeStage, type ScopeStageProps } from './stages/scope-stage';
