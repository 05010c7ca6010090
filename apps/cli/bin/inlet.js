#!/usr/bin/env node
// The `inlet` command: runs the built CLI (npm start and npm run build build it).
import('../dist/main.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/main.js')) {
    console.error('inlet: the CLI is not built yet; run "npm run build" (or "npm start") first');
    process.exit(1);
  }
  throw error;
});
