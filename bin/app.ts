#!/usr/bin/env node
import { buildApp } from '../lib/app';

// One stage per verification scope; settings come from cdk.json context `tenantMail` or
// TENANT_MAIL_<SCOPE>_<SETTING> environment variables. See README "Deploy per scope".
buildApp().app.synth();
