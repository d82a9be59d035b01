// Builds the UI with esbuild: hashed, minified JS and CSS under <out>/assets/ (hls.js
// in its own chunk, loaded by the player only), index.html pointing at them, and
// public/ copied as is. Fails on an import cycle in src/ (check-imports.mjs). build.rs runs `npm run build -- --outDir <dir>` and embeds
// the result in the binary.
//
//   node build.mjs [--outDir dist]

import * as esbuild from 'esbuild';
import { checkImports } from './check-imports.mjs';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const flag = process.argv.indexOf('--outDir');
const out = resolve(flag > 0 ? process.argv[flag + 1] : join(here, 'dist'));

// No import cycle, and pages import neither the shell nor each other.
checkImports();

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { index: 'src/main.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  target: ['es2020', 'chrome90', 'firefox90', 'safari14'],
  minify: true,
  legalComments: 'none',
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

const entry = Object.entries(result.metafile.outputs).find(([, o]) => o.entryPoint === 'src/main.js');
if (!entry || !entry[1].cssBundle) throw new Error('esbuild produced no entry script or stylesheet');
const [js, { cssBundle: css }] = entry;
const tags = `<link rel="stylesheet" href="/assets/${basename(css)}" />\n    <script type="module" src="/assets/${basename(js)}"></script>`;
const html = readFileSync(join(here, 'index.html'), 'utf8');
if (!html.includes('<!-- assets -->')) throw new Error('index.html lacks the <!-- assets --> marker');
writeFileSync(join(out, 'index.html'), html.replace('<!-- assets -->', tags));
cpSync(join(here, 'public'), out, { recursive: true });

for (const [file, o] of Object.entries(result.metafile.outputs)) {
  console.log(`  ${basename(file).padEnd(28)} ${(o.bytes / 1024).toFixed(1).padStart(7)} KiB`);
}
