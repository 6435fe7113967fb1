#!/usr/bin/env node
// Operator CLI entry: runs the TypeScript sources through tsx (a dev dependency), on the project's Node 24.
require('tsx/cjs');
require('../cli/main.ts');
