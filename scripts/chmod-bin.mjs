// tsc writes dist/src/cli/main.js without the executable bit; `npx kubethreads`
// in this checkout runs the file through the bin link, and the shell refuses a
// file it may not execute ("kubethreads: Permission denied").
import { chmodSync, readFileSync } from 'node:fs';

const { bin } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
for (const file of Object.values(bin)) chmodSync(new URL(`../${file}`, import.meta.url), 0o755);
