// size.mjs bundles src/index.ts minified (esbuild, ESM, browser target) and
// fails when the gzipped bundle is 12 KB or more. It prints the figures.
// Run by `npm run size` and by the Go test in test/js.
import { build } from 'esbuild';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const limit = 12 * 1024;
const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const out = await build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  platform: 'browser',
  write: false,
  legalComments: 'none',
});
const code = out.outputFiles[0].contents;
const gz = gzipSync(code, { level: 9 }).length;
console.log(`bundle: ${code.length} bytes minified, ${gz} bytes gzipped (limit ${limit})`);
if (gz >= limit) {
  console.error(`size: the gzipped bundle is ${gz} bytes, over the ${limit}-byte budget`);
  process.exit(1);
}
