// Headless-Chromium test of the demo page (run by .ci/wasm.sh):
//  1. `?selftest=`: the page decodes test.wav through the same path as the microphone; its
//     transcript must equal the Rust API's (EXPECTED_TEXT, from `sotto transcribe --no-lm`)
//     and the wake word must fire.
//  2. The microphone: Chromium's fake capture device plays test.wav (it loops); the live
//     captions must contain most of the expected words and the wake word must fire.
// A small static server gives the page, the wasm package and the models from one origin.
// Usage: node run.mjs SITE_DIR PKG_DIR MODEL WAKE_JSON WAKE_TFLITE TEST_WAV SCREENSHOT
// env: EXPECTED_TEXT, CHROMIUM (default /usr/bin/chromium). Prints `wasm: …` measurements.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { chromium } from 'playwright-core';

const [site, pkg, model, wakeJson, wakeTflite, testWav, screenshot] = process.argv.slice(2);
const expected = process.env.EXPECTED_TEXT ?? '';
const files = {
  '/models/sotto-en-int8.safetensors': model,
  '/models/okay_nabu.json': wakeJson,
  '/models/okay_nabu.tflite': wakeTflite,
  '/audio/test.wav': testWav,
};
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x').pathname;
  let file = files[url];
  if (!file && url.startsWith('/pkg/')) file = path.join(pkg, path.basename(url));
  if (!file) file = path.join(site, url === '/' ? 'index.html' : path.normalize(url));
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    res.end(data);
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}/`;

const flags = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required'];
async function browser(extra) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sotto-chromium-'));
  return chromium.launchPersistentContext(dir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true, args: [...flags, ...extra], viewport: { width: 900, height: 640 },
  });
}

const words = (s) => s.toLowerCase().split(/\s+/).filter((w) => w.length > 1);
let failed = false;
const check = (ok, msg) => {
  console.log(`${ok ? 'ok' : 'FAIL'}: ${msg}`);
  if (!ok) failed = true;
};

// 1. The file through the page's pipeline: the Rust API's text exactly.
{
  const ctx = await browser([]);
  const page = await ctx.newPage();
  page.on('console', (m) => m.type() === 'error' && console.log('page:', m.text()));
  await page.goto(base + 'index.html?selftest=audio/test.wav');
  await page.waitForFunction(() => ['done'].includes(window.sotto.state) || window.sotto.error, null, { timeout: 300000 });
  const s = await page.evaluate(() => window.sotto);
  check(!s.error, `self-test ran (${s.error ?? 'no error'})`);
  const t = s.selftest ?? { text: '', detections: [], audioSeconds: 1, computeSeconds: 0 };
  check(t.text === expected, `self-test text equals the Rust API's: ${JSON.stringify(t.text)} vs ${JSON.stringify(expected)}`);
  check(t.detections.some((d) => /nabu/i.test(d.wake_word)), `self-test wake word fired: ${JSON.stringify(t.detections)}`);
  console.log(`wasm: module ${s.wasmBytes} bytes; file RTF ${(t.computeSeconds / t.audioSeconds).toFixed(4)} (${t.computeSeconds.toFixed(3)} s for ${t.audioSeconds.toFixed(2)} s)`);
  await ctx.close();
}

// 2. The fake microphone playing the file.
{
  const dur = fs.statSync(testWav).size / 32000; // 16-bit mono 16 kHz
  const ctx = await browser(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${testWav}`]);
  await ctx.grantPermissions(['microphone'], { origin: base });
  const page = await ctx.newPage();
  page.on('console', (m) => m.type() === 'error' && console.log('page:', m.text()));
  await page.goto(base + 'index.html?autostart=1');
  await page.waitForFunction((d) => window.sotto.error || window.sotto.audioSeconds > d + 1.5, dur, { timeout: 300000 });
  const s = await page.evaluate(() => window.sotto);
  check(!s.error, `microphone ran (${s.error ?? 'no error'})`);
  const heard = words([...s.finals, s.partial].join(' '));
  const want = [...new Set(words(expected))];
  const found = want.filter((w) => heard.includes(w));
  check(want.length > 0 && found.length * 2 >= want.length,
    `live captions contain ${found.length}/${want.length} expected words: ${JSON.stringify(heard.join(' '))}`);
  check(s.detections.some((d) => /nabu/i.test(d.wake_word)), `live wake word fired: ${JSON.stringify(s.detections)}`);
  console.log(`wasm: microphone at ${s.rate} Hz, RTF ${(s.computeSeconds / s.audioSeconds).toFixed(4)} (${s.computeSeconds.toFixed(3)} s for ${s.audioSeconds.toFixed(2)} s)`);
  if (screenshot) await page.screenshot({ path: screenshot });
  await ctx.close();
}

server.close();
process.exit(failed ? 1 : 0);
