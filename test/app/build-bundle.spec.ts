import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import { buildApp, bundleInputsHash, ensureFunctionBundle, MAX_BUNDLE_BYTES, stampPath, type BuildResult } from '../../app/build';
import { loadConfig } from '../../app/src/ingest/config';

describe('build:app (esbuild bundle + deployable zip)', function () {
  this.timeout(120_000);
  let dirA: string;
  let dirB: string;
  let a: BuildResult;
  let b: BuildResult;

  before(async () => {
    dirA = mkdtempSync(join(tmpdir(), 'ingest-build-a-'));
    dirB = mkdtempSync(join(tmpdir(), 'ingest-build-b-'));
    a = await buildApp({ outDir: dirA, quiet: true });
    b = await buildApp({ outDir: dirB, quiet: true });
  });
  after(() => {
    rmSync(dirA, { recursive: true, force: true });
    rmSync(dirB, { recursive: true, force: true });
  });

  it('zips host.json, package.json, dist/main.js and the lazily loaded dist/azure-sdk.js, in that order', () => {
    const files = unzipSync(readFileSync(a.zipPath));
    const names = Object.keys(files);
    assert.deepEqual(names.slice(0, 4), ['host.json', 'package.json', 'dist/main.js', 'dist/azure-sdk.js']);
    assert.ok(names.slice(4).every((n) => /^dist\/[a-z-]+\.js\.LEGAL\.txt$/.test(n)), names.join(','));
    assert.ok(!names.some((n) => n.startsWith('node_modules/')), 'everything is bundled');
    const pkg = JSON.parse(Buffer.from(files['package.json']).toString('utf8'));
    assert.equal(pkg.main, 'dist/main.js');
    assert.equal(pkg.devDependencies, undefined);
    assert.equal(pkg.dependencies, undefined);
  });

  it('keeps host.json consistent with the code (queue encoding and dequeue limit)', () => {
    const host = JSON.parse(Buffer.from(unzipSync(readFileSync(a.zipPath))['host.json']).toString('utf8'));
    assert.equal(host.version, '2.0');
    assert.equal(host.extensionBundle.id, 'Microsoft.Azure.Functions.ExtensionBundle');
    assert.equal(host.extensions.queues.messageEncoding, 'base64', 'StorageQueue.send base64-encodes');
    const defaults = loadConfig({ FHIR_URL: 'https://x.fhir.azurehealthcareapis.com', AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    assert.equal(host.extensions.queues.maxDequeueCount, defaults.maxDequeueCount, 'MAX_DEQUEUE_COUNT default must equal host.json maxDequeueCount');
  });

  it(`keeps the minified bundle within ${MAX_BUNDLE_BYTES / 1024 / 1024} MB`, () => {
    assert.ok(a.bundleBytes <= MAX_BUNDLE_BYTES, `${a.bundleBytes} bytes`);
    const files = unzipSync(readFileSync(a.zipPath));
    assert.equal(files['dist/main.js'].length + files['dist/azure-sdk.js'].length, a.bundleBytes);
    // The SDKs stay out of main.js so the worker does not parse them at start-up.
    assert.ok(a.mainBytes < 400 * 1024, `main.js is ${a.mainBytes} bytes`);
    assert.ok(Buffer.from(files['dist/main.js']).toString('utf8').includes('require("./azure-sdk.js")'), 'main.js loads the SDK file lazily');
  });

  it('is deterministic: two builds give byte-identical zips', () => {
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(readFileSync(a.zipPath), readFileSync(b.zipPath));
  });

  it('loads in a fresh node process without node_modules and registers the three functions', () => {
    // Unpack into an empty directory so nothing can be resolved from the repo's node_modules.
    const dir = mkdtempSync(join(tmpdir(), 'ingest-load-'));
    try {
      for (const [name, data] of Object.entries(unzipSync(readFileSync(a.zipPath)))) {
        mkdirSync(join(dir, name, '..'), { recursive: true });
        writeFileSync(join(dir, name), data);
      }
      const r = spawnSync(process.execPath, ['-e', "require('./dist/main.js')"], { cwd: dir, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH } });
      assert.equal(r.status, 0, r.stderr);
      for (const fn of ['hl7', 'hl7-deliver', 'health']) assert.match(r.stderr, new RegExp(`register function "${fn}"`));
      assert.doesNotMatch(r.stderr, /Cannot find module/);
      const sdk = spawnSync(
        process.execPath,
        ['-e', "const m=require('./dist/azure-sdk.js');process.stdout.write(['BlobServiceClient','QueueServiceClient','ManagedIdentityCredential','DefaultAzureCredential','SecretClient'].map(k=>typeof m[k]).join(','))"],
        { cwd: dir, encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH } },
      );
      assert.equal(sdk.status, 0, sdk.stderr);
      assert.equal(sdk.stdout, 'function,function,function,function,function');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('build:app skips the build when its inputs are unchanged', function () {
  this.timeout(120_000);
  const REPO = join(__dirname, '..', '..');
  let root: string;
  let app: string;
  const zipOf = () => join(app, 'dist', 'ingest-function.zip');

  // A copy of the app, so the test can edit sources without touching the working tree others are editing.
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'ingest-cache-'));
    app = join(root, 'app');
    for (const f of ['src', 'host.json', 'package.json']) cpSync(join(REPO, 'app', f), join(app, f), { recursive: true });
    for (const f of ['tsconfig.json', 'package-lock.json']) cpSync(join(REPO, f), join(root, f));
    symlinkSync(join(REPO, 'node_modules'), join(root, 'node_modules'), 'dir');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('builds on a fresh checkout, then reuses the same zip bytes while nothing changes', async () => {
    const first = await ensureFunctionBundle({ appDir: app, quiet: true });
    assert.equal(first.rebuilt, true);
    const bytes = readFileSync(zipOf());
    const mtime = statSync(zipOf()).mtimeMs;
    const again = await ensureFunctionBundle({ appDir: app, quiet: true });
    assert.equal(again.rebuilt, false);
    assert.equal(again.sha256, first.sha256);
    assert.deepEqual(again.entries, first.entries);
    assert.deepEqual(readFileSync(zipOf()), bytes);
    assert.equal(statSync(zipOf()).mtimeMs, mtime, 'the zip was rewritten');
  });

  it('rebuilds when a source changes, and the new zip carries the change', async () => {
    const before = await ensureFunctionBundle({ appDir: app, quiet: true });
    appendFileSync(join(app, 'src', 'main.ts'), "\nexport const buildCacheProbe = 'probe-7f3a';\n");
    const after = await ensureFunctionBundle({ appDir: app, quiet: true });
    assert.equal(after.rebuilt, true);
    assert.notEqual(after.sha256, before.sha256);
    assert.match(Buffer.from(unzipSync(readFileSync(zipOf()))['dist/main.js']).toString('utf8'), /probe-7f3a/);
    assert.equal((await ensureFunctionBundle({ appDir: app, quiet: true })).rebuilt, false);
  });

  it('rebuilds when the zip on disk is not the one recorded, or with --force', async () => {
    const good = await ensureFunctionBundle({ appDir: app, quiet: true });
    writeFileSync(zipOf(), 'not the bundle');
    const repaired = await ensureFunctionBundle({ appDir: app, quiet: true });
    assert.equal(repaired.rebuilt, true);
    assert.equal(repaired.sha256, good.sha256);
    assert.equal((await ensureFunctionBundle({ appDir: app, quiet: true, force: true })).rebuilt, true);
    rmSync(stampPath(zipOf()));
    assert.equal((await ensureFunctionBundle({ appDir: app, quiet: true })).rebuilt, true, 'no stamp, no trust');
  });

  it('counts added files, the lockfile, host.json and tsconfig.json as inputs', () => {
    const h0 = bundleInputsHash(app);
    assert.equal(bundleInputsHash(app), h0);
    const edits: Array<[string, () => void]> = [
      ['new source file', () => writeFileSync(join(app, 'src', 'unused-new.ts'), 'export {};\n')],
      ['lockfile', () => appendFileSync(join(root, 'package-lock.json'), '\n')],
      ['host.json', () => appendFileSync(join(app, 'host.json'), '\n')],
      ['tsconfig.json', () => appendFileSync(join(root, 'tsconfig.json'), '\n')],
    ];
    let prev = h0;
    for (const [what, edit] of edits) {
      edit();
      const h = bundleInputsHash(app);
      assert.notEqual(h, prev, `${what} did not change the inputs hash`);
      prev = h;
    }
  });

  it('npm run build:app: --help exits 0, an unknown option exits 2 with the usage', () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, ['-r', './tools/ts-register.js', 'app/build.ts', ...args], { cwd: REPO, encoding: 'utf8' });
    const help = cli('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /usage: npm run build:app/);
    const bad = cli('--fast');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown option '--fast'[\s\S]*usage:/);
  });
});
