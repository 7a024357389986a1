/**
 * Empties dist/ before a build, so the npm package and dist/integrity.json never carry a file
 * that an earlier build wrote and this one no longer does.
 *
 *   node scripts/clean-dist.mjs
 */
import { rmSync } from 'node:fs';

rmSync(new URL('../dist/', import.meta.url), { recursive: true, force: true });
