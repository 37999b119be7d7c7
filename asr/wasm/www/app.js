// The demo page: loads the models from this site, captures the microphone through an
// AudioWorklet and runs sotto's recognizer and wake-word detector in WebAssembly. Both take
// audio at the context's rate and resample it to 16 kHz inside (the same code as natively).
// State for tests is kept in `window.sotto`; `?selftest=FILE.wav` decodes a WAV file through
// the same path instead of the microphone (for an exact comparison with the Rust API),
// `?autostart=1` starts the microphone without a click, and `?record=1` keeps every sample given
// to the recognizer (`window.sottoCaptured()`: base64 of the float32 samples at `sotto.rate`), so
// that a test can decode exactly what the page heard with the native CLI.
import init, { Recognizer, WakeWord } from './pkg/sotto_wasm.js';

const MODEL = 'models/sotto-en-int8.safetensors';
const WAKE_TFLITE = 'models/okay_nabu.tflite';
const WAKE_MANIFEST = 'models/okay_nabu.json';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const captured = params.get('record') ? [] : null;
const state = (window.sotto = {
  state: 'idle', error: null, finals: [], partial: '', detections: [],
  audioSeconds: 0, computeSeconds: 0, rate: null, wasmBytes: null, selftest: null,
});

function setStatus(s) {
  state.state = s;
  $('status').textContent = s;
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

let models = null;
async function loadModels() {
  if (models) return models;
  setStatus('loading models…');
  const wasmUrl = new URL('./pkg/sotto_wasm_bg.wasm', import.meta.url);
  const wasm = await fetchBytes(wasmUrl);
  state.wasmBytes = wasm.length;
  $('wasmsize').textContent = `${(wasm.length / 1048576).toFixed(2)} MiB`;
  await init({ module_or_path: wasm });
  const [model, tflite, manifest] = await Promise.all([
    fetchBytes(MODEL), fetchBytes(WAKE_TFLITE), fetch(WAKE_MANIFEST).then((r) => r.text()),
  ]);
  // `?beam=N` sets the search's beam (left out: the library's default, as `sotto caption`).
  const beam = params.get('beam') ? Number(params.get('beam')) : undefined;
  models = { rec: new Recognizer(model, beam), tflite, manifest };
  return models;
}

// One source of audio: a recognizer stream and a wake-word detector at `rate`.
function session(rate, segment) {
  const stream = models.rec.createStream();
  const wake = new WakeWord(models.tflite, models.manifest, rate);
  state.rate = rate;
  $('rate').textContent = `${rate} Hz`;
  return {
    feed(chunk) {
      captured?.push(chunk);
      const t = performance.now();
      stream.accept(chunk, rate);
      const dets = JSON.parse(wake.accept(chunk));
      // The search stopped at an endpoint's exact frame: commit the line, then decode the frames
      // after it into the next one (the same lines for any chunking, as `sotto caption`).
      while (segment && stream.isEndpoint()) {
        const seg = JSON.parse(stream.finishSegment());
        if (seg.text) state.finals.push(seg.text);
        stream.decode();
      }
      state.partial = stream.partial();
      state.computeSeconds += (performance.now() - t) / 1000;
      state.audioSeconds += chunk.length / rate;
      for (const d of dets) state.detections.push(d);
      render(dets);
    },
    finish() {
      const t = performance.now();
      const out = JSON.parse(stream.finish());
      state.computeSeconds += (performance.now() - t) / 1000;
      return out;
    },
  };
}

function render(newDetections) {
  $('final').textContent = state.finals.join(' ');
  $('partial').textContent = state.partial;
  for (const d of newDetections) {
    $('nowake')?.remove();
    const li = document.createElement('li');
    li.textContent = `${d.wake_word} at ${d.time.toFixed(2)} s (score ${d.score.toFixed(2)})`;
    $('wake').appendChild(li);
  }
  $('audio').textContent = `${state.audioSeconds.toFixed(1)} s`;
  $('compute').textContent = `${state.computeSeconds.toFixed(3)} s`;
  if (state.audioSeconds > 0) $('rtf').textContent = (state.computeSeconds / state.audioSeconds).toFixed(4);
}

// Set while the microphone runs: stops it and commits the last line.
let stopMic = null;

async function startMic() {
  try {
    await loadModels();
    setStatus('waiting for the microphone…');
    const media = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1 },
    });
    // `?rate=N` asks the browser for an N Hz context (it resamples the microphone itself); the
    // default is the device's rate, which sotto resamples to 16 kHz.
    const rate = Number(new URLSearchParams(location.search).get('rate')) || undefined;
    const ctx = new AudioContext(rate ? { sampleRate: rate } : undefined);
    await ctx.audioWorklet.addModule(new URL('./worklet.js', import.meta.url));
    const src = ctx.createMediaStreamSource(media);
    const node = new AudioWorkletNode(ctx, 'sotto-capture');
    const s = session(ctx.sampleRate, true);
    let live = true;
    node.port.onmessage = (e) => {
      if (!live) return; // blocks already queued when Stop was pressed
      try {
        s.feed(e.data);
      } catch (err) {
        fail(err);
      }
    };
    // Stop: no more audio, and the line in progress is decoded to its end and committed (as
    // `sotto caption` does at the end of its input).
    stopMic = () => {
      if (!live) return;
      live = false;
      node.port.onmessage = null;
      src.disconnect();
      media.getTracks().forEach((t) => t.stop());
      ctx.close();
      try {
        const last = s.finish();
        if (last.text) state.finals.push(last.text);
        state.partial = '';
        render([]);
        setStatus('stopped');
      } catch (err) {
        fail(err);
      }
      $('stop').disabled = true;
    };
    $('stop').disabled = false;
    src.connect(node);
    // Chromium renders only nodes that reach the destination; the worklet outputs silence.
    node.connect(ctx.destination);
    await ctx.resume();
    setStatus('listening');
    $('start').disabled = true;
  } catch (err) {
    fail(err);
  }
}

// Parses a 16-bit PCM WAV (first channel) into floats.
function parseWav(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (o) => String.fromCharCode(...bytes.subarray(o, o + 4));
  if (tag(0) !== 'RIFF' || tag(8) !== 'WAVE') throw new Error('not a WAV file');
  let rate = 0, channels = 1, bits = 0;
  for (let i = 12; i + 8 <= bytes.length;) {
    const len = v.getUint32(i + 4, true);
    if (tag(i) === 'fmt ') {
      channels = v.getUint16(i + 10, true);
      rate = v.getUint32(i + 12, true);
      bits = v.getUint16(i + 22, true);
    } else if (tag(i) === 'data') {
      if (bits !== 16) throw new Error('only 16-bit PCM WAV');
      const n = Math.floor(Math.min(len, bytes.length - i - 8) / (2 * channels));
      const out = new Float32Array(n);
      for (let k = 0; k < n; k++) out[k] = v.getInt16(i + 8 + 2 * channels * k, true) / 32768;
      return { rate, samples: out };
    }
    i += 8 + len + (len & 1);
  }
  throw new Error('WAV without data');
}

async function selftest(url) {
  try {
    await loadModels();
    setStatus('decoding ' + url);
    const { rate, samples } = parseWav(await fetchBytes(url));
    const s = session(rate, false);
    const block = Math.round(rate / 10);
    for (let i = 0; i < samples.length; i += block) s.feed(samples.subarray(i, i + block));
    const final = s.finish();
    state.finals = [final.text];
    state.partial = '';
    render([]);
    state.selftest = {
      text: final.text, words: final.words, detections: state.detections,
      audioSeconds: state.audioSeconds, computeSeconds: state.computeSeconds,
    };
    setStatus('done');
  } catch (err) {
    fail(err);
  }
}

function fail(err) {
  state.error = String(err && err.message ? err.message : err);
  setStatus('error: ' + state.error);
  console.error(err);
}

// The recorded samples (`?record=1`) as base64 of little-endian float32; call it in the same task
// as reading `window.sotto` for a consistent snapshot (both change only in message handlers).
window.sottoCaptured = () => {
  const all = new Float32Array((captured ?? []).reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of captured ?? []) {
    all.set(c, o);
    o += c.length;
  }
  const bytes = new Uint8Array(all.buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 8192) bin += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(bin);
};

// Stops the microphone and commits the last line (the Stop button; tests call it to end a
// capture at a known sample, then read `window.sotto` and `window.sottoCaptured()`).
window.sottoStop = () => stopMic?.();

$('start').addEventListener('click', startMic);
$('stop').addEventListener('click', () => window.sottoStop());
if (params.get('selftest')) selftest(params.get('selftest'));
else if (params.get('autostart')) startMic();
