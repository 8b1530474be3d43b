// A minimal require hook that compiles TypeScript with esbuild (type-stripping only; `tsc --noEmit` does the type
// check). It starts several times faster than ts-node, which matters for the offline plan and the test run.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");

// Inline source maps let `node --enable-source-maps` (mocha sets it) show TypeScript lines. The plan does not set
// that flag: Pulumi captures a stack for every promise, and mapping those made the offline plan ~40% slower.
// `dynamic-import: false` turns `await import("./x")` into a require, as tsc does for CommonJS; Node's native import()
// cannot load a .ts file.
const OPTIONS = { loader: "ts", format: "cjs", target: "node20", sourcemap: "inline", supported: { "dynamic-import": false } };

// Transformed output is cached by content: on a warm cache no esbuild service process is started (~60 ms) and no file
// is transformed (~150 ms for the plan's 40 files). The key covers everything the output depends on, so an edited
// file, another esbuild or other options simply miss. node_modules/.cache is where tools keep such caches, and
// `npm ci` clears it. TS_REGISTER_CACHE=off bypasses it; TS_REGISTER_CACHE_DIR moves it.
const TOOL_CACHES = path.join(__dirname, "..", "node_modules", ".cache");
const CACHE_DIR = process.env.TS_REGISTER_CACHE_DIR || path.join(TOOL_CACHES, "ts-register");
const CACHE_ON = process.env.TS_REGISTER_CACHE !== "off";
const KEY_SALT = `${require("esbuild/package.json").version}\0${JSON.stringify(OPTIONS)}\0`;
let esbuild;

function transform(source, filename) {
    esbuild ??= require("esbuild");
    return esbuild.transformSync(source, { ...OPTIONS, sourcefile: filename }).code;
}

function compileCached(source, filename) {
    const key = crypto.createHash("sha256").update(KEY_SALT).update(filename).update("\0").update(source).digest("hex");
    const file = path.join(CACHE_DIR, key.slice(0, 2), `${key}.js`);
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        // not cached yet
    }
    const code = transform(source, filename);
    try {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        // Processes (mocha, spawned plans) compile the same files concurrently; rename makes the entry appear whole.
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, code);
        fs.renameSync(tmp, file);
        pruneDaily();
    } catch {
        // a read-only checkout still compiles, just without the cache
    }
    return code;
}

// Every edit adds an entry and nothing else removes them. Once a day, the first process that writes one drops
// entries older than two weeks; a file still in use is simply compiled again once.
const DAY_MS = 24 * 3600 * 1000;
function pruneDaily() {
    const marker = path.join(CACHE_DIR, ".pruned");
    try {
        if (Date.now() - fs.statSync(marker).mtimeMs < DAY_MS) return;
    } catch {
        // never pruned
    }
    fs.writeFileSync(marker, "");
    const cutoff = Date.now() - 14 * DAY_MS;
    for (const dir of fs.readdirSync(CACHE_DIR, { withFileTypes: true })) {
        if (!dir.isDirectory()) continue;
        for (const name of fs.readdirSync(path.join(CACHE_DIR, dir.name))) {
            const file = path.join(CACHE_DIR, dir.name, name);
            if (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs < cutoff) fs.rmSync(file, { force: true });
        }
    }
}

// Node 22.1+ can keep V8's compiled code between runs (~7% of the prod plan on Node 22.23: 1.34 s vs 1.44 s median),
// and CI runs Node 22. Node 20 has no such API, so there this is a no-op. Node's own NODE_DISABLE_COMPILE_CACHE=1
// turns it off.
if (CACHE_ON) Module.enableCompileCache?.(path.join(TOOL_CACHES, "node-compile-cache"));

require.extensions[".ts"] = function compileTypeScript(module, filename) {
    const source = fs.readFileSync(filename, "utf8");
    module._compile(CACHE_ON ? compileCached(source, filename) : transform(source, filename), filename);
};

// @pulumi/pulumi's runtime index requires its closure serialiser (which loads TypeScript) and its code-path finder
// (which loads @npmcli/arborist) eagerly: ~0.4 s of every process that imports Pulumi, for functions only a dynamic
// provider or a Lambda-style callback calls. Both modules export functions only, so forwarding stubs stand in for
// them and the real module is loaded on the first call. Export names are read from the module's text so a Pulumi
// upgrade cannot silently drop one (test/policy/offline-options.spec.ts checks the stubs against the real modules).
// TS_REGISTER_LAZY_PULUMI=off loads them eagerly again, to rule this out when debugging.
const LAZY_PULUMI_MODULES = ["runtime/closure/serializeClosure.js", "runtime/closure/codePaths.js"];

function installLazyModule(file) {
    const names = [...new Set([...fs.readFileSync(file, "utf8").matchAll(/^exports\.(\w+) = (?!void 0)/gm)].map((m) => m[1]))];
    let real;
    const load = () => {
        if (!real) {
            delete require.cache[file];
            real = require(file);
        }
        return real;
    };
    const stub = new Module(file, module);
    stub.filename = file;
    stub.loaded = true;
    stub.exports = { __esModule: true };
    for (const name of names) stub.exports[name] = (...args) => load()[name](...args);
    Object.defineProperty(stub.exports, "__lazyPulumiStub", { value: { names, loaded: () => real !== undefined } });
    require.cache[file] = stub;
}

if (process.env.TS_REGISTER_LAZY_PULUMI !== "off") {
    let pulumiDir;
    try {
        pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [path.join(__dirname, "..")] }));
    } catch {
        // not installed: nothing to defer
    }
    for (const rel of pulumiDir ? LAZY_PULUMI_MODULES : []) {
        const file = path.join(pulumiDir, rel);
        if (fs.existsSync(file) && !require.cache[file]) installLazyModule(file);
    }
}
