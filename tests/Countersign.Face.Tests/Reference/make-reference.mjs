// Makes the parity fixtures for Countersign.Face: crops of the sample photos shipped in
// @vladmandic/face-api 1.7.15 (demo/sample1..6.jpg, MIT package) saved as PNG, and what face-api itself
// (TensorFlow.js 4.22.0, WASM backend, no native TensorFlow) finds in exactly those pixels.
//
//   cd tests/Countersign.Face.Tests/Reference && npm ci && node make-reference.mjs
//
// Writes ../Fixtures/reference/*.png and ../Fixtures/reference/reference.json. Everything comes from npm;
// nothing is downloaded at run time. Both sides read the same PNG pixels, so decoder differences
// (jpeg-js vs stb) cannot blur the comparison.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const tf = require('@tensorflow/tfjs');
const wasm = require('@tensorflow/tfjs-backend-wasm');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const jpeg = require('jpeg-js');
const { PNG } = require('pngjs');

const pkg = path.dirname(require.resolve('@vladmandic/face-api/package.json'));
const out = path.join(here, '..', 'Fixtures', 'reference');
fs.mkdirSync(out, { recursive: true });

wasm.setWasmPaths(path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep);
await tf.setBackend('wasm');
await tf.ready();
for (const net of [faceapi.nets.tinyFaceDetector, faceapi.nets.faceLandmark68Net, faceapi.nets.faceRecognitionNet]) {
  await net.loadFromDisk(path.join(pkg, 'model'));
}

const options = new faceapi.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: 0.5 });

async function analyse(rgb, width, height) {
  const input = tf.tensor3d(rgb, [height, width, 3], 'int32');
  const results = await faceapi.detectAllFaces(input, options).withFaceLandmarks().withFaceDescriptors();
  input.dispose();
  return results.map((r) => ({
    score: r.detection.score,
    box: { x: r.detection.box.x, y: r.detection.box.y, width: r.detection.box.width, height: r.detection.box.height },
    landmarks: r.landmarks.positions.map((p) => [p.x, p.y]),
    descriptor: Array.from(r.descriptor),
  }));
}

function crop(image, x, y, w, h) {
  const rgb = new Uint8Array(w * h * 3);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const s = ((y + r) * image.width + x + c) * 4;
      const d = (r * w + c) * 3;
      rgb[d] = image.data[s];
      rgb[d + 1] = image.data[s + 1];
      rgb[d + 2] = image.data[s + 2];
    }
  }
  return rgb;
}

function writePng(file, rgb, w, h) {
  const png = new PNG({ width: w, height: h, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb);
  fs.writeFileSync(file, PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
  const back = PNG.sync.read(fs.readFileSync(file));
  const rgbBack = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) {
    rgbBack[3 * i] = back.data[4 * i];
    rgbBack[3 * i + 1] = back.data[4 * i + 1];
    rgbBack[3 * i + 2] = back.data[4 * i + 2];
  }
  if (Buffer.compare(Buffer.from(rgbBack), Buffer.from(rgb)) !== 0) throw new Error(`${file} does not round-trip`);
}

// One crop per face for the first face of each photo and a few more, plus one crop holding two faces.
const fixtures = [];
const started = Date.now();
for (let n = 1; n <= 6; n++) {
  const image = jpeg.decode(fs.readFileSync(path.join(pkg, 'demo', `sample${n}.jpg`)), { useTArray: true, formatAsRGBA: true });
  const full = crop(image, 0, 0, image.width, image.height);
  const faces = (await analyse(full, image.width, image.height)).sort((a, b) => a.box.x - b.box.x);
  console.log(`sample${n}.jpg ${image.width}x${image.height}: ${faces.length} faces`);
  const picks = n === 1 ? [0, 2] : [0];
  for (const i of picks) {
    const b = faces[i].box;
    const m = 0.4 * Math.max(b.width, b.height);
    const x = Math.max(0, Math.floor(b.x - m));
    const y = Math.max(0, Math.floor(b.y - m));
    const w = Math.min(image.width, Math.ceil(b.x + b.width + m)) - x;
    const h = Math.min(image.height, Math.ceil(b.y + b.height + m)) - y;
    fixtures.push({ name: `sample${n}-face${i}.png`, rgb: crop(image, x, y, w, h), width: w, height: h, source: `demo/sample${n}.jpg`, region: [x, y, w, h] });
  }
  if (n === 1) {
    const [a, b] = faces;
    const x = Math.max(0, Math.floor(a.box.x - 20));
    const y = Math.max(0, Math.floor(Math.min(a.box.y, b.box.y) - 20));
    const w = Math.ceil(b.box.x + b.box.width + 20) - x;
    const h = Math.ceil(Math.max(a.box.y + a.box.height, b.box.y + b.box.height) + 20) - y;
    fixtures.push({ name: 'sample1-two-faces.png', rgb: crop(image, x, y, w, h), width: w, height: h, source: 'demo/sample1.jpg', region: [x, y, w, h] });
  }
}

const reference = {
  generator: 'tests/Countersign.Face.Tests/Reference/make-reference.mjs',
  faceApi: require('@vladmandic/face-api/package.json').version,
  tfjs: tf.version.tfjs,
  backend: tf.getBackend(),
  detector: { inputSize: 416, scoreThreshold: 0.5 },
  images: [],
};
for (const f of fixtures) {
  writePng(path.join(out, f.name), f.rgb, f.width, f.height);
  const faces = await analyse(f.rgb, f.width, f.height);
  console.log(`${f.name} ${f.width}x${f.height}: ${faces.length} faces`);
  reference.images.push({ file: f.name, source: f.source, region: f.region, width: f.width, height: f.height, faces });
}
fs.writeFileSync(path.join(out, 'reference.json'), JSON.stringify(reference, null, 1) + '\n');
console.log(`wrote ${fixtures.length} fixtures in ${((Date.now() - started) / 1000).toFixed(1)} s`);
