import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { SCOPES } from '../lambdas/domain/scope';
import { loadScopeConfigs } from './config/scope-config';
import { ScopeStage } from './stages/scope-stage';

/** Builds the whole app: one stage per verification scope, with cdk-nag's AWS Solutions checks. */
export function buildApp(props: AppProps = {}, env: Record<string, string | undefined> = process.env) {
  const app = new App(props);
  const configs = loadScopeConfigs(app.node.tryGetContext('tenantMail'), env);
  const stages = SCOPES.map((scope) => new ScopeStage(app, scope, { config: configs[scope] }));
  Tags.of(app).add('app', 'tenant-mail');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stages };
}
