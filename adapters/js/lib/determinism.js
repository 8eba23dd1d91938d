'use strict';
/*
 * Determinism shims for a syncsim-node/1 replica written in JavaScript.
 *
 * Require this module before any sync engine: libraries capture `Math.random`, `Date.now` and
 * `crypto.getRandomValues` when they load (lib0 does `const rand = Math.random`), so the
 * replacements must be in place first. The protocol loop (protocol.js) seeds them from the
 * `init` request before it loads the engine, and sets the clocks from every request.
 *
 * What is replaced, and by what:
 *   - randomness: Math.random, crypto.randomBytes / randomFill / randomFillSync / randomInt /
 *     randomUUID / getRandomValues, crypto.webcrypto.getRandomValues / randomUUID (which is
 *     globalThis.crypto on Node >= 19, and what Automerge installs there on Node 18): one
 *     xoshiro128** stream seeded from the init seed. Used before init, they throw.
 *   - wall clock: Date (new Date(), Date(), Date.now()) reads the request's wall_us.
 *   - monotonic clock: performance.now(), performance.timeOrigin, process.hrtime(.bigint),
 *     process.uptime read the request's mono_us.
 *   - timers: setTimeout / setInterval (global and the 'timers' module) become simulated
 *     timers on the monotonic clock. A timer due now (delay below 1 ms) runs before the
 *     request is answered; a later one becomes a protocol timer (set_timer) and runs when
 *     syncsim fires it. setImmediate and process.nextTick stay real: they only order work
 *     within one request, and the loop drains them before answering (see settle()).
 *   - the time zone is UTC, whatever TZ says.
 */

const crypto = require('crypto');
const timersModule = require('timers');
const perfHooks = require('perf_hooks');

process.env.TZ = 'UTC';

const real = {
  Date: globalThis.Date,
  setTimeout: globalThis.setTimeout,
  clearTimeout: globalThis.clearTimeout,
  setImmediate: globalThis.setImmediate,
  clearImmediate: globalThis.clearImmediate,
  MathRandom: Math.random,
};

// --- a seeded generator --------------------------------------------------------------------

const MASK64 = (1n << 64n) - 1n;

function splitmix64(state) {
  // state: a one-element array holding a BigInt; returns the next 64-bit output.
  state[0] = (state[0] + 0x9e3779b97f4a7c15n) & MASK64;
  let z = state[0];
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK64;
  return z ^ (z >> 31n);
}

function fnv1a32(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** xoshiro128**: small, fast, and the same on every platform. */
class Rng {
  constructor(seed, stream) {
    const st = [(BigInt(seed) ^ (BigInt(fnv1a32(stream)) << 17n)) & MASK64];
    const a = splitmix64(st), b = splitmix64(st);
    this.s = new Uint32Array([Number(a & 0xffffffffn), Number(a >> 32n), Number(b & 0xffffffffn), Number(b >> 32n)]);
    if (!(this.s[0] | this.s[1] | this.s[2] | this.s[3])) this.s[0] = 1;
  }

  next32() {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A float in [0, 1) with 53 random bits, like Math.random. */
  float() {
    const hi = this.next32() >>> 5, lo = this.next32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** An integer in [0, n), n <= 2^32. */
  below(n) {
    return Math.floor(this.float() * n);
  }

  fill(bytes) {
    for (let i = 0; i < bytes.length; i += 4) {
      let x = this.next32();
      for (let k = 0; k < 4 && i + k < bytes.length; k++, x >>>= 8) bytes[i + k] = x & 0xff;
    }
    return bytes;
  }
}

function rotl(x, k) {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// --- state ---------------------------------------------------------------------------------

const state = {
  rng: null,          // the libraries' stream; null before init
  wall_us: 0,         // the current request's clocks
  mono_us: 0,
  origin_us: 0,       // wall clock at monotonic 0, for performance.timeOrigin
};

function seed(seedText, label) {
  if (!/^[0-9]+$/.test(seedText)) throw new Error('the seed is not a decimal string');
  state.rng = new Rng(seedText, 'libraries:' + label);
}

/** A generator of the adapter's own (jitter), apart from the libraries' stream. */
function ownRng(seedText, label) {
  return new Rng(seedText, 'adapter:' + label);
}

function setClock(wall_us, mono_us) {
  state.wall_us = wall_us;
  state.mono_us = mono_us;
}

function setOrigin(wall_us, mono_us) {
  state.origin_us = wall_us - mono_us;
}

function rng() {
  if (!state.rng) throw new Error('syncsim determinism: randomness was asked for before init seeded it');
  return state.rng;
}

// --- randomness ------------------------------------------------------------------------------

function fillView(view) {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  rng().fill(bytes);
  return view;
}

function randomUUID() {
  const b = rng().fill(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function getRandomValues(view) {
  if (!ArrayBuffer.isView(view) || view instanceof Float32Array || view instanceof Float64Array || view instanceof DataView) {
    throw new TypeError('getRandomValues takes an integer typed array');
  }
  if (view.byteLength > 65536) throw new RangeError('getRandomValues: at most 65536 bytes');
  return fillView(view);
}

function randomBytes(size, callback) {
  const buf = fillView(Buffer.alloc(size));
  if (typeof callback === 'function') {
    process.nextTick(callback, null, buf);
    return undefined;
  }
  return buf;
}

function randomFillSync(buf, offset = 0, size) {
  const view = ArrayBuffer.isView(buf) ? buf : new Uint8Array(buf);
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  const end = size === undefined ? bytes.length : offset + size;
  rng().fill(bytes.subarray(offset, end));
  return buf;
}

function randomFill(buf, ...rest) {
  const callback = rest.pop();
  randomFillSync(buf, ...rest);
  process.nextTick(callback, null, buf);
}

function randomInt(a, b, callback) {
  let min = 0, max = a;
  if (typeof b === 'number') { min = a; max = b; } else { callback = b; }
  const n = min + rng().below(max - min);
  if (typeof callback === 'function') {
    process.nextTick(callback, null, n);
    return undefined;
  }
  return n;
}

/**
 * Replace obj[name]. A member that cannot be replaced is left as it is: on Node 20
 * crypto.getRandomValues is a fixed getter that calls webcrypto's, which is replaced.
 */
function patch(obj, name, value) {
  const d = Object.getOwnPropertyDescriptor(obj, name);
  if (d && !d.configurable) {
    if (d.writable) obj[name] = value;
    return;
  }
  Object.defineProperty(obj, name, { value, writable: true, configurable: true, enumerable: true });
}

Math.random = () => rng().float();
patch(crypto, 'randomBytes', randomBytes);
patch(crypto, 'pseudoRandomBytes', randomBytes);
patch(crypto, 'randomFillSync', randomFillSync);
patch(crypto, 'randomFill', randomFill);
patch(crypto, 'randomInt', randomInt);
patch(crypto, 'randomUUID', randomUUID);
patch(crypto, 'getRandomValues', getRandomValues);
// Own properties shadow the prototype's methods; globalThis.crypto is this same object on
// Node >= 19, and Automerge makes it so on Node 18.
if (crypto.webcrypto) {
  patch(crypto.webcrypto, 'getRandomValues', getRandomValues);
  patch(crypto.webcrypto, 'randomUUID', randomUUID);
  patch(Object.getPrototypeOf(crypto.webcrypto), 'getRandomValues', getRandomValues);
  patch(Object.getPrototypeOf(crypto.webcrypto), 'randomUUID', randomUUID);
}
if (globalThis.crypto && globalThis.crypto !== crypto.webcrypto) {
  patch(globalThis.crypto, 'getRandomValues', getRandomValues);
  patch(globalThis.crypto, 'randomUUID', randomUUID);
}

// --- clocks ----------------------------------------------------------------------------------

const RealDate = real.Date;

function nowMs() {
  return Math.floor(state.wall_us / 1000);
}

function SimDate(...args) {
  if (!new.target) return new RealDate(nowMs()).toString();
  return Reflect.construct(RealDate, args.length === 0 ? [nowMs()] : args, new.target);
}
SimDate.prototype = RealDate.prototype;
SimDate.now = nowMs;
SimDate.parse = RealDate.parse;
SimDate.UTC = RealDate.UTC;
Object.defineProperty(SimDate, 'length', { value: RealDate.length });
Object.defineProperty(SimDate, 'name', { value: 'Date' });
globalThis.Date = SimDate;

const performance = perfHooks.performance;
const monoMs = () => state.mono_us / 1000;
Object.defineProperty(performance, 'now', { value: monoMs, writable: true, configurable: true });
Object.defineProperty(performance, 'timeOrigin', { get: () => state.origin_us / 1000, configurable: true });
if (globalThis.performance && globalThis.performance !== performance) {
  Object.defineProperty(globalThis.performance, 'now', { value: monoMs, writable: true, configurable: true });
}

function hrtime(previous) {
  const ns = BigInt(state.mono_us) * 1000n;
  let s = Number(ns / 1000000000n), n = Number(ns % 1000000000n);
  if (previous) {
    s -= previous[0];
    n -= previous[1];
    if (n < 0) { s -= 1; n += 1e9; }
  }
  return [s, n];
}
hrtime.bigint = () => BigInt(state.mono_us) * 1000n;
process.hrtime = hrtime;
process.uptime = () => state.mono_us / 1e6;

// --- timers ------------------------------------------------------------------------------------

/*
 * Simulated timers, kept in one table with the adapter's own (after(), below). Each has an
 * id, which is also the token of the protocol timer that stands for it.
 */
const timers = new Map();   // id -> Timer
let nextTimerId = 1;
let running = [];           // promises returned by timer callbacks, until they settle
let failure = null;         // the first error a timer callback threw or rejected with

class Timer {
  constructor(fn, args, dueUs, repeatUs) {
    this.id = nextTimerId++;
    this.fn = fn;
    this.args = args;
    this.due = dueUs;
    this.repeat = repeatUs;   // null for a one-shot timer
    this.announced = false;
    timers.set(this.id, this);
  }
  ref() { return this; }
  unref() { return this; }
  hasRef() { return true; }
  refresh() {
    if (timers.has(this.id)) {
      this.due = state.mono_us + (this.delay || 0);
      this.announced = false;
    }
    return this;
  }
  close() { timers.delete(this.id); return this; }
  [Symbol.toPrimitive]() { return this.id; }
}

function delayUs(ms) {
  ms = Number(ms);
  if (!Number.isFinite(ms) || ms < 1) return 0;
  return Math.floor(ms * 1000);
}

function simSetTimeout(fn, ms, ...args) {
  if (typeof fn !== 'function') throw new TypeError('setTimeout: the callback is not a function');
  const d = delayUs(ms);
  const t = new Timer(fn, args, state.mono_us + d, null);
  t.delay = d;
  return t;
}

function simSetInterval(fn, ms, ...args) {
  if (typeof fn !== 'function') throw new TypeError('setInterval: the callback is not a function');
  const d = Math.max(1000, delayUs(ms));
  const t = new Timer(fn, args, state.mono_us + d, d);
  t.delay = d;
  return t;
}

function simClear(t) {
  if (t === undefined || t === null) return;
  const id = typeof t === 'object' ? t.id : Number(t);
  timers.delete(id);
}

/** The adapter's own timer: fn() after delay_us of the monotonic clock. Returns its id. */
function after(delay_us, fn) {
  const t = new Timer(fn, [], state.mono_us + Math.max(0, Math.floor(delay_us)), null);
  t.delay = Math.max(0, Math.floor(delay_us));
  return t.id;
}

function cancel(id) {
  timers.delete(id);
}

globalThis.setTimeout = simSetTimeout;
globalThis.setInterval = simSetInterval;
globalThis.clearTimeout = simClear;
globalThis.clearInterval = simClear;
timersModule.setTimeout = simSetTimeout;
timersModule.setInterval = simSetInterval;
timersModule.clearTimeout = simClear;
timersModule.clearInterval = simClear;

/** Run every timer due by now, in (due, id) order. Returns how many ran. */
function runDue() {
  const due = [...timers.values()].filter((t) => t.due <= state.mono_us).sort((a, b) => a.due - b.due || a.id - b.id);
  let ran = 0;
  for (const t of due) {
    if (timers.get(t.id) !== t || t.due > state.mono_us) continue;   // cleared or moved by an earlier one
    if (t.repeat === null) {
      timers.delete(t.id);
    } else {
      t.due += t.repeat;
      t.announced = false;
    }
    ran++;
    track(() => t.fn(...t.args));
  }
  return ran;
}

/** Run fn; keep what it returns while it is pending, and its error if it fails. */
function track(fn) {
  let r;
  try {
    r = fn();
  } catch (e) {
    failure = failure || e;
    return;
  }
  if (r && typeof r.then === 'function') {
    const entry = { done: false };
    running.push(entry);
    r.then(() => { entry.done = true; }, (e) => { entry.done = true; failure = failure || e; });
  }
}

/** An error from asynchronous work (a timer callback, an unhandled rejection), once. */
function takeFailure() {
  const f = failure;
  failure = null;
  return f;
}

function noteFailure(e) {
  failure = failure || e;
}

/** The protocol fired the timer `id`: it is due now, whatever rounding says. */
function fire(id) {
  const t = timers.get(id);
  if (t && t.due > state.mono_us) t.due = state.mono_us;
  return !!t;
}

/** Timers due later that syncsim has not been asked for yet. */
function unannounced() {
  const out = [...timers.values()].filter((t) => !t.announced && t.due > state.mono_us).sort((a, b) => a.id - b.id);
  for (const t of out) t.announced = true;
  return out.map((t) => ({ token: t.id, delay_us: t.due - state.mono_us }));
}

// setImmediate stays real, but the loop must know when none is pending.
let pendingImmediates = 0;
const immediateHandles = new Set();
globalThis.setImmediate = function setImmediate(fn, ...args) {
  pendingImmediates++;
  const h = real.setImmediate(() => {
    immediateHandles.delete(h);
    pendingImmediates--;
    fn(...args);
  });
  immediateHandles.add(h);
  return h;
};
globalThis.clearImmediate = function clearImmediate(h) {
  if (immediateHandles.delete(h)) {
    pendingImmediates--;
    real.clearImmediate(h);
  }
};
timersModule.setImmediate = globalThis.setImmediate;
timersModule.clearImmediate = globalThis.clearImmediate;

function realImmediate() {
  return new Promise((resolve) => real.setImmediate(resolve));
}

/**
 * Let everything the request started finish: promise chains, nextTicks, immediates, and
 * simulated timers due now. Returns when a turn of the event loop finds none of them.
 */
async function settle() {
  for (let turn = 0; turn < 100000; turn++) {
    await realImmediate();
    if (runDue() > 0) continue;
    running = running.filter((e) => !e.done);
    if (pendingImmediates === 0) {
      await realImmediate();   // one more turn: a microtask may have queued an immediate
      running = running.filter((e) => !e.done);
      if (pendingImmediates === 0 && running.length === 0 && runDue() === 0) return;
    }
  }
  throw new Error(`syncsim determinism: the request never settled (100000 turns of the event loop; ${pendingImmediates} immediates and ${running.length} timer callbacks pending)`);
}

module.exports = {
  Rng, seed, ownRng, setClock, setOrigin, fnv1a32,
  after, cancel, fire, runDue, unannounced, settle, track, takeFailure, noteFailure,
  nowMs, state, real,
};
