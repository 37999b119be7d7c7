// Headless-Chromium test of the demo page (run by .ci/wasm.sh):
//  1. `?selftest=`: the page decodes test.wav through the same path as the microphone; its
//     transcript must equal the Rust API's (EXPECTED_TEXT, from `sotto transcribe --no-lm`)
//     and the wake word must fire.
//  2. The microphone: Chromium's fake capture device plays test.wav (in a loop, from wherever
//     the file is when capture starts); the page records the samples it gives the recognizer.
//     The wake word must fire; the test then stops the page (its Stop, which commits the last
//     line) and decodes what it heard with the native CLI (`sotto caption --no-lm`, `sotto wake`,
//     on a float32 WAV): the caption lines must be equal, word for word (the same samples give the
//     same numbers in both builds), and the wake-word times within 0.1 s. How many of
//     EXPECTED_TEXT's words the captions hold is printed, not checked: the shipped model writes
//     other words for the same speech when the capture starts at another offset into the file
//     (other segment boundaries).
// A small static server gives the page, the wasm package and the models from one origin.
// Usage: node run.mjs SITE_DIR PKG_DIR MODEL WAKE_JSON WAKE_TFLITE TEST_WAV SCREENSHOT
// env: EXPECTED_TEXT, SOTTO_BIN (default target/release/sotto), CHROMIUM (default
// /usr/bin/chromium). Writes mic.wav (what the page heard) beside TEST_WAV. Prints `wasm: …`
// measurements.
import { execFileSync } from 'node:child_process';
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
  page.on('crash', () => console.log('page: crashed'));
  const t0 = Date.now();
  // At 16 kHz: the page gets Chromium's resampled samples and the native run below reads the
  // same samples, with no resampler on either side. sotto's 44.1 kHz resampler (rubato) is not
  // bit-identical between the builds (its FFT through rustfft: scalar in wasm, SIMD natively).
  // At the default beam: the network and the search compute the same numbers in both builds
  // (int8 products are exact in every kernel variant; no exp/ln/tanh comes from the C library),
  // so the lines must be equal, word for word. Until the evening of 2026-12-04 the native build
  // used glibc's exp and tanh, and one bit of difference flipped near ties (1 capture in 12).
  await page.goto(base + 'index.html?autostart=1&record=1&rate=16000');
  // Real time: the first pass through the file and 1.5 s more, after the model has loaded.
  await page.waitForFunction((d) => window.sotto.error || window.sotto.audioSeconds > d + 1.5, dur,
    { timeout: 120000 + 4000 * dur });
  // Stop (as the Stop button): the page commits its last line, as the native run does at the end
  // of its file; in the same task, so the recording ends at the same sample.
  const [s, b64] = await page.evaluate(() => {
    window.sottoStop();
    return [window.sotto, window.sottoCaptured()];
  });
  const wall = (Date.now() - t0) / 1000;
  check(!s.error, `microphone ran (${s.error ?? 'no error'})`);
  if (screenshot) await page.screenshot({ path: screenshot });
  await ctx.close();

  // What the page heard, as a float32 WAV at the context's rate, decoded natively.
  const pcm = Buffer.from(b64, 'base64');
  const heardSeconds = pcm.length / 4 / s.rate;
  check(Math.abs(heardSeconds - s.audioSeconds) < 1e-3, `recorded ${heardSeconds.toFixed(2)} s = the ${s.audioSeconds.toFixed(2)} s given to the recognizer`);
  const hdr = Buffer.alloc(44);
  hdr.write('RIFF', 0); hdr.writeUInt32LE(36 + pcm.length, 4); hdr.write('WAVEfmt ', 8);
  hdr.writeUInt32LE(16, 16); hdr.writeUInt16LE(3, 20); hdr.writeUInt16LE(1, 22); // IEEE float, mono
  hdr.writeUInt32LE(s.rate, 24); hdr.writeUInt32LE(4 * s.rate, 28); hdr.writeUInt16LE(4, 32); hdr.writeUInt16LE(32, 34);
  hdr.write('data', 36); hdr.writeUInt32LE(pcm.length, 40);
  const micWav = path.join(path.dirname(testWav), 'mic.wav');
  fs.writeFileSync(micWav, Buffer.concat([hdr, pcm]));
  const bin = process.env.SOTTO_BIN ?? 'target/release/sotto';
  const jsonLines = (args) => execFileSync(bin, args, { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const native = jsonLines(['caption', '-m', model, '--no-lm', '--json', '--input', micWav])
    .filter((l) => l.final && l.text).map((l) => l.text);
  const nativeWake = jsonLines(['wake', '--json', '-m', wakeJson, micWav]).map((d) => d.time);

  check(s.finals.length > 0 && !s.partial, `live captions committed ${s.finals.length} line(s): ${JSON.stringify(s.finals)}`);
  const same = JSON.stringify(s.finals) === JSON.stringify(native);
  check(same, `live captions equal the Rust API's lines on the same samples (sotto caption --no-lm ${micWav}: ` +
    `${JSON.stringify(native)})`);
  // Detections in the last 0.3 s are not compared: at the end of the file the native run flushes
  // the resampler's tail (and so decides on audio the live stream still holds back).
  const settled = (ts) => ts.filter((t) => t < s.audioSeconds - 0.3);
  const live = s.detections.map((d) => d.time);
  const near = (a, b) => a.length === b.length && a.every((t, i) => Math.abs(t - b[i]) <= 0.1);
  check(live.length > 0 && near(settled(live), settled(nativeWake)),
    `live wake word fired at ${JSON.stringify(live)} s; the Rust API's on the same samples (sotto wake) at ${JSON.stringify(nativeWake)} s`);
  const heard = words(s.finals.join(' '));
  const want = [...new Set(words(expected))];
  const found = want.filter((w) => heard.includes(w));
  console.log(`wasm: microphone at ${s.rate} Hz, ${s.audioSeconds.toFixed(2)} s heard (${wall.toFixed(1)} s from page load), ` +
    `RTF ${(s.computeSeconds / s.audioSeconds).toFixed(4)} (${s.computeSeconds.toFixed(3)} s); captions ${JSON.stringify(s.finals.join(" / "))} ` +
    `hold ${found.length}/${want.length} words of the file's transcript; ` +
    `wake word at ${JSON.stringify(s.detections.map((d) => `${d.time.toFixed(2)} s (score ${d.score.toFixed(3)})`))} of the stream`);
}

server.close();
process.exit(failed ? 1 : 0);
