// Headless-Chromium test of the demo page (run by .ci/wasm.sh):
//  1. `?selftest=`: the page decodes test.wav through the same path as the microphone; its
//     transcript must equal the Rust API's (EXPECTED_TEXT, from `sotto transcribe --no-lm`)
//     and the wake word must fire.
//  2. The microphone: Chromium's fake capture device plays test.wav (in a loop, from wherever
//     the file is when capture starts); the page records the samples it gives the recognizer.
//     The wake word must fire, and the live captions (committed lines) and wake-word times must
//     match what the native CLI makes of those same samples (`sotto caption --no-lm`,
//     `sotto wake`, on a float32 WAV): lines equal up to one word, detections within 0.1 s. Not
//     exactly: resampled from 44.1/48 kHz, the wasm build's samples differ from the native ones
//     in the last bits (rubato's FFT through rustfft: scalar in wasm, SIMD natively), enough to
//     move a detection by one model step (30 ms). How many of EXPECTED_TEXT's words the
//     captions hold is printed, not checked: the shipped model (dev WER 76 %) writes other words
//     for the same speech when the capture starts at another offset into the file (other
//     segment boundaries).
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
const BEAM = 8; // the beam of the live-caption comparison (see the page load below)
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
// Word-level Levenshtein distance.
function editDistance(a, b) {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}
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
  // bit-identical between the builds (its filter and FFT twiddles use the platforms' sin/cos), and
  // with the current model those last bits move an endpoint and flip near ties.
  // At beam 8: at the default beam (32), one run's live captions differed from the native build's
  // on the same samples by 6 words (2026-12-04), although the native build gives the same segments
  // for any chunking (checked on that capture with 7- to 160000-sample chunks). Not explained yet;
  // the suspect is the network's float arithmetic, which is not bit-identical between the builds
  // (SIMD kernels natively, scalar in wasm; the platforms' exp/tanh), with more near ties at 32.
  await page.goto(base + `index.html?autostart=1&record=1&rate=16000&beam=${BEAM}`);
  // Real time: the first pass through the file and 1.5 s more, after the model has loaded.
  await page.waitForFunction((d) => window.sotto.error || window.sotto.audioSeconds > d + 1.5, dur,
    { timeout: 120000 + 4000 * dur });
  const wall = (Date.now() - t0) / 1000;
  const [s, b64] = await page.evaluate(() => [window.sotto, window.sottoCaptured()]);
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
  const lines = jsonLines(['caption', '-m', model, '--no-lm', '--beam', String(BEAM), '--json', '--input', micWav]);
  // What a live viewer of the native run saw before its end-of-file flush: the lines committed
  // at endpoints and the partial of the segment in progress. The flush commits that segment as
  // a final, and a final is chosen with CTC rescoring (the partial is the beam's best by the
  // transducer alone), so the page's partial compares with the native partial before it.
  let committed = [], partial = '', beforeFlush = null;
  for (const l of lines) {
    if (l.final) {
      beforeFlush = [...committed, partial];
      if (l.text) committed.push(l.text);
      partial = '';
    } else partial = l.text ?? '';
  }
  const lastIsFinal = lines.length > 0 && lines[lines.length - 1].final;
  const native = (s.partial && lastIsFinal && beforeFlush ? beforeFlush : [...committed, partial]).filter(Boolean);
  const nativeWake = jsonLines(['wake', '--json', '-m', wakeJson, micWav]).map((d) => d.time);

  check(s.finals.length > 0, `live captions committed ${s.finals.length} line(s): ${JSON.stringify(s.finals)} (partial ${JSON.stringify(s.partial)})`);
  const tokens = (lines) => lines.join(' ').split(/\s+/).filter(Boolean);
  // Words, not line breaks.
  const edits = editDistance(tokens([...s.finals, s.partial]), tokens(native));
  check(edits <= 1, `live captions (committed + partial) match the Rust API's words on the same samples (sotto caption --no-lm --beam ${BEAM} ${micWav}: ` +
    `${JSON.stringify(native)}): ${edits === 0 ? 'identical' : `${edits} word edit(s)`}`);
  // Detections in the last 0.3 s are not compared: at the end of the file the native run flushes
  // the resampler's tail (and so decides on audio the live stream still holds back).
  const settled = (ts) => ts.filter((t) => t < s.audioSeconds - 0.3);
  const live = s.detections.map((d) => d.time);
  const near = (a, b) => a.length === b.length && a.every((t, i) => Math.abs(t - b[i]) <= 0.1);
  check(live.length > 0 && near(settled(live), settled(nativeWake)),
    `live wake word fired at ${JSON.stringify(live)} s; the Rust API's on the same samples (sotto wake) at ${JSON.stringify(nativeWake)} s`);
  const heard = words([...s.finals, s.partial].join(' '));
  const want = [...new Set(words(expected))];
  const found = want.filter((w) => heard.includes(w));
  console.log(`wasm: microphone at ${s.rate} Hz, ${s.audioSeconds.toFixed(2)} s heard (${wall.toFixed(1)} s from page load), ` +
    `RTF ${(s.computeSeconds / s.audioSeconds).toFixed(4)} (${s.computeSeconds.toFixed(3)} s); captions ${JSON.stringify([...s.finals, s.partial].filter(Boolean).join(" / "))} ` +
    `hold ${found.length}/${want.length} words of the file's transcript; ` +
    `wake word at ${JSON.stringify(s.detections.map((d) => `${d.time.toFixed(2)} s (score ${d.score.toFixed(3)})`))} of the stream`);
}

server.close();
process.exit(failed ? 1 : 0);
