#!/usr/bin/env node
// The `berth` command. `npm ci` builds dist/ (the root `prepare` script runs `tsc -b`).
import('../dist/bin.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist')) {
    console.error('error: berth is not built yet: run `npm ci` (or `npm run build`) in the repository root');
    process.exit(1);
  }
  throw err;
});
