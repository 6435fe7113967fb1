import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Scope } from '../../lambdas/domain/scope';
import { buildApp } from '../../lib/app';
import { packageRoot } from '../../lib/config/package-root';

/** A CloudFormation template as JSON. */
export interface CfnTemplate {
  readonly Resources?: Record<
    string,
    { readonly Type: string; readonly Properties?: Record<string, unknown> }
  >;
  readonly Outputs?: Record<string, { readonly Value: unknown; readonly Export?: { readonly Name: string } }>;
}

export interface SynthOptions {
  /** Bundle the Lambda assets too (the twin runs them); tests that only provision data skip it. @default false */
  readonly bundle?: boolean;
  /** Context values over cdk.json's (e.g. `tenantMail` with other scope settings). @default none */
  readonly context?: Record<string, unknown>;
}

/**
 * Synthesizes the app in-process and returns one scope's templates, stateful first. The local twin and the
 * test harness provision from these, so local resources are exactly what `cdk deploy` creates.
 */
export function synthScopeTemplates(scope: Scope, options: SynthOptions = {}): CfnTemplate[] {
  return synthScope(scope, options).templates;
}

export interface SynthesizedScope {
  readonly templates: CfnTemplate[];
  /** Folder of the scope's cloud assembly; asset paths in template metadata are relative to it. */
  readonly directory: string;
}

/** Like {@link synthScopeTemplates}, with the assembly folder (for bundled Lambda assets). */
export function synthScope(scope: Scope, options: SynthOptions = {}): SynthesizedScope {
  const [synthesized] = synthScopes([scope], options);
  if (!synthesized) throw new Error(`no stage for scope ${scope}`);
  return synthesized;
}

/** Synthesizes (and bundles) the app once for several scopes, in the order given. */
export function synthScopes(scopes: readonly Scope[], options: SynthOptions = {}): SynthesizedScope[] {
  const { app, stages } = buildApp({
    context: {
      ...cdkJsonContext(),
      'aws:cdk:enable-asset-metadata': true,
      // Bundle only the asked scopes' functions (each scope's stacks are `<scope>/Stateful`, `<scope>/Stateless`).
      'aws:cdk:bundling-stacks': options.bundle ? scopes.map((scope) => `${scope}/*`) : [],
      ...options.context,
    },
  });
  app.synth();
  return scopes.map((scope) => {
    const stage = stages.find((candidate) => candidate.stageName === scope);
    if (!stage) throw new Error(`no stage for scope ${scope}`);
    const assembly = stage.synth();
    const templates = [stage.stateful, stage.stateless].map(
      (stack) => assembly.getStackByName(stack.stackName).template as CfnTemplate,
    );
    return { templates, directory: assembly.directory };
  });
}

/** The `context` of cdk.json, which the CDK CLI would pass to the app; in-process synthesis reads it here. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(packageRoot(), 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
}
