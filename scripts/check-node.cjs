// Fails early and clearly when npm scripts run on a Node older than the Lambda runtime (24).
// npm puts node_modules/.bin first on PATH, so the `node` devDependency (Node 24) runs our scripts.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `tenant-mail needs Node 24 (the Lambda runtime); this is Node ${process.versions.node}.\n` +
      'Run it through npm scripts or npx after `npm ci`, which installs Node 24 as a devDependency.',
  );
  process.exit(1);
}
