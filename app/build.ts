/**
 * npm run build:app [-- --force] — bundles app/src/main.ts with esbuild and writes the deployable zip
 * app/dist/ingest-function.zip = host.json + package.json + dist/main.js + dist/azure-sdk.js (+ LEGAL.txt
 * files with the bundled packages' licence comments).
 * The zip is deterministic (fixed entry order, fixed timestamps, fixed compression level), so the same
 * sources give the same bytes and the infrastructure can deploy it by content hash.
 * The offline plan runs on every change, so an unchanged bundle is not rebuilt: see ensureFunctionBundle.
 */
import type { BuildOptions, Plugin } from 'esbuild';
import type { Zippable } from 'fflate';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';

// Loaded only when a build runs (~30 ms): the plan checks an unchanged bundle in-process on every run.
const esbuild = (): typeof import('esbuild') => require('esbuild');
const fflate = (): typeof import('fflate') => require('fflate');

export const APP_DIR = __dirname;
export const DIST_DIR = join(APP_DIR, 'dist');
export const ZIP_PATH = join(DIST_DIR, 'ingest-function.zip');
export const BUNDLE_PATH = join(DIST_DIR, 'package', 'dist', 'main.js');
/** The Node major Flex runs the Function on (NODE_RUNTIME_VERSION in components/functionApp.ts; a test ties them). */
export const BUNDLE_NODE_MAJOR = 22;
/** Budget from issue 3. */
export const MAX_BUNDLE_BYTES = 2 * 1024 * 1024;

export interface BuildResult {
  zipPath: string;
  /** false when ensureFunctionBundle found the zip up to date and did not run esbuild. */
  rebuilt?: boolean;
  bundlePath: string;
  /** main.js + azure-sdk.js (the budget applies to the total). */
  bundleBytes: number;
  mainBytes: number;
  zipBytes: number;
  sha256: string;
  entries: string[];
}

/**
 * fflate writes DOS timestamps from the Date's local-time fields; building the Date from local-time
 * parts keeps the bytes identical in every time zone. 1980-01-01 is the earliest DOS date.
 */
const FIXED_MTIME = new Date(1980, 0, 1, 0, 0, 0);

/**
 * @azure/storage-blob imports apache-arrow only to parse Arrow-format blob listings
 * (utils/blobListArrowParser.js), which this app never requests. Replacing it with a stub that throws
 * if ever used saves about 240 KB of bundle and a large part of the load time.
 */
const STUBBED_MODULES = ['apache-arrow'];
const stubUnusedModules: Plugin = {
  name: 'stub-unused-modules',
  setup(b) {
    const filter = new RegExp(`^(${STUBBED_MODULES.map((m) => m.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'stub' }));
    b.onLoad({ filter: /.*/, namespace: 'stub' }, (args) => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(args.path + ' is not bundled in the ingest function')}); };\nmodule.exports = new Proxy({}, { get: (_t, k) => (k === '__esModule' ? false : fail) });\n`,
      loader: 'js',
    }));
  },
};

/** Keeps the lazily loaded SDK module out of main.js; it is built as dist/azure-sdk.js next to it. */
const sdkAsSeparateFile: Plugin = {
  name: 'azure-sdk-separate-file',
  setup(b) {
    // Only the loader's require('./azure-sdk'); type-only imports never reach the resolver.
    b.onResolve({ filter: /^\.\/azure-sdk$/ }, (args) =>
      args.importer.endsWith(join('ingest', 'load-sdk.ts')) ? { path: './azure-sdk.js', external: true } : undefined,
    );
  },
};

export interface BuildOptionsArg {
  outDir?: string;
  quiet?: boolean;
  /** The app to bundle (src/, host.json, package.json); the repository root is its parent. Tests use a copy. */
  appDir?: string;
}

export async function buildApp(opts: BuildOptionsArg = {}): Promise<BuildResult> {
  const appDir = opts.appDir ?? APP_DIR;
  const distDir = opts.outDir ?? join(appDir, 'dist');
  const stage = join(distDir, 'package');
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(join(stage, 'dist'), { recursive: true });
  const bundlePath = join(stage, 'dist', 'main.js');
  const sdkPath = join(stage, 'dist', 'azure-sdk.js');

  const common: BuildOptions = {
    bundle: true,
    platform: 'node',
    target: `node${BUNDLE_NODE_MAJOR}`,
    format: 'cjs',
    minify: true,
    // Provided by the Functions host at run time; @azure/functions itself is bundled.
    external: ['@azure/functions-core'],
    legalComments: 'external',
    sourcemap: false,
    logLevel: opts.quiet ? 'silent' : 'warning',
    absWorkingDir: join(appDir, '..'),
  };
  // main.js: registrations, handlers, parser and converter. azure-sdk.js: the SDKs, required on first use.
  const results = await Promise.all([
    esbuild().build({ ...common, entryPoints: [join(appDir, 'src', 'main.ts')], outfile: bundlePath, plugins: [sdkAsSeparateFile] }),
    esbuild().build({ ...common, entryPoints: [join(appDir, 'src', 'ingest', 'azure-sdk.ts')], outfile: sdkPath, plugins: [stubUnusedModules] }),
  ]);
  if (results.some((r) => r.errors.length > 0)) throw new Error('esbuild failed');

  const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as Record<string, unknown>;
  if (pkg.main !== 'dist/main.js') throw new Error('app/package.json "main" must be dist/main.js');
  for (const k of ['dependencies', 'devDependencies']) {
    if (k in pkg) throw new Error(`app/package.json must not declare ${k}: everything is bundled`);
  }

  const bundle = readFileSync(bundlePath);
  const sdk = readFileSync(sdkPath);
  const files: [string, Uint8Array][] = [
    ['host.json', readFileSync(join(appDir, 'host.json'))],
    ['package.json', readFileSync(join(appDir, 'package.json'))],
    ['dist/main.js', bundle],
    ['dist/azure-sdk.js', sdk],
  ];
  for (const legal of ['main.js.LEGAL.txt', 'azure-sdk.js.LEGAL.txt']) {
    try {
      files.push([`dist/${legal}`, readFileSync(join(stage, 'dist', legal))]);
    } catch {
      // no legal comments collected for this file
    }
  }
  const zippable: Zippable = {};
  for (const [name, data] of files) zippable[name] = [data, { mtime: FIXED_MTIME, level: 9 }];
  const zip = fflate().zipSync(zippable, { mtime: FIXED_MTIME, level: 9 });
  const zipPath = join(distDir, 'ingest-function.zip');
  writeAtomically(zipPath, zip);

  const out: BuildResult = {
    zipPath,
    bundlePath,
    bundleBytes: bundle.length + sdk.length,
    mainBytes: bundle.length,
    zipBytes: zip.length,
    sha256: createHash('sha256').update(zip).digest('hex'),
    entries: files.map(([n]) => n),
  };
  if (out.bundleBytes > MAX_BUNDLE_BYTES) {
    throw new Error(`bundle is ${out.bundleBytes} bytes, over the ${MAX_BUNDLE_BYTES}-byte budget`);
  }
  return out;
}

/** A plan or a test reading the zip while another process rebuilds it must see the old bytes or the new, never half. */
function writeAtomically(file: string, data: Uint8Array | string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []))
    .sort();
}

/**
 * What the zip is a function of: every file under src/ (by path and content, so an added, removed or renamed file
 * counts), host.json, package.json, the root tsconfig.json esbuild reads, the lockfile that pins the bundled
 * packages, this build script and the esbuild version. Not node_modules itself: a hand-edited package is not
 * seen (`npm run build:app -- --force`).
 */
export function bundleInputsHash(appDir = APP_DIR): string {
  const root = join(appDir, '..');
  const inputs = [
    ...listFiles(join(appDir, 'src')),
    join(appDir, 'host.json'),
    join(appDir, 'package.json'),
    join(root, 'tsconfig.json'),
    join(root, 'package-lock.json'),
    __filename,
  ];
  const esbuildVersion = (require('esbuild/package.json') as { version: string }).version;
  const h = createHash('sha256').update(`esbuild ${esbuildVersion}\0`);
  for (const file of inputs) {
    const name = file === __filename ? 'build.ts' : relative(root, file).split(sep).join('/');
    h.update(`${name}\0`);
    h.update(existsSync(file) ? readFileSync(file) : '(missing)');
    h.update('\0');
  }
  return h.digest('hex');
}

interface BundleStamp {
  inputsHash: string;
  result: Omit<BuildResult, 'rebuilt'>;
}

/** The stamp lives beside the zip, so deleting app/dist (or a fresh clone) always rebuilds. */
export const stampPath = (zipPath: string) => `${zipPath}.inputs.json`;

/**
 * The zip for the current sources: reuses the one on disk when its recorded inputs hash matches and the zip still
 * has the bytes that were recorded, otherwise builds. In-process, so `npm run plan` pays no extra Node start.
 */
export async function ensureFunctionBundle(opts: BuildOptionsArg & { force?: boolean } = {}): Promise<BuildResult> {
  const appDir = opts.appDir ?? APP_DIR;
  const zipPath = join(opts.outDir ?? join(appDir, 'dist'), 'ingest-function.zip');
  const inputsHash = bundleInputsHash(appDir);
  if (!opts.force) {
    try {
      const stamp = JSON.parse(readFileSync(stampPath(zipPath), 'utf8')) as BundleStamp;
      if (stamp.inputsHash === inputsHash && createHash('sha256').update(readFileSync(zipPath)).digest('hex') === stamp.result.sha256) {
        return { ...stamp.result, zipPath, rebuilt: false };
      }
    } catch {
      // no stamp or no zip yet: build
    }
  }
  rmSync(stampPath(zipPath), { force: true });
  const result = await buildApp(opts);
  const stamp: BundleStamp = { inputsHash, result };
  writeAtomically(stampPath(zipPath), JSON.stringify(stamp, null, 2) + '\n');
  return { ...result, rebuilt: true };
}

/** The name tools/plan.ts looks for. */
export const ensureAppBuilt = ensureFunctionBundle;

const USAGE = 'usage: npm run build:app [-- --force]   (--force rebuilds even when the inputs are unchanged)';

if (require.main === module) {
  let force = false;
  try {
    const { values } = parseArgs({ options: { force: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    force = values.force ?? false;
  } catch (err) {
    process.stderr.write(`build:app: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  ensureFunctionBundle({ force })
    .then((r) => {
      process.stdout.write(
        `${r.rebuilt ? 'built' : 'up to date (inputs unchanged)'} ${r.zipPath}\n  bundle: ${(r.bundleBytes / 1024).toFixed(1)} KiB (main.js ${(r.mainBytes / 1024).toFixed(1)} KiB + azure-sdk.js; budget ${MAX_BUNDLE_BYTES / 1024} KiB)\n` +
          `  zip: ${(r.zipBytes / 1024).toFixed(1)} KiB, sha256 ${r.sha256}\n  entries: ${r.entries.join(', ')}\n`,
      );
    })
    .catch((err: unknown) => {
      process.stderr.write(`build:app failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
