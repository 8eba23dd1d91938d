'use strict';
/*
 * Files in a replica's data directory. Every write here is synchronous and complete before the
 * request is answered: a crash (SIGKILL between two requests) keeps what was written and loses
 * what the engine held only in memory, as it would on a phone. Nothing is fsynced: like
 * LevelDB and IndexedDB without a durability hint, the data survives the process dying, not
 * the power failing.
 */

const fs = require('fs');
const path = require('path');

/** An append-only log of binary entries, each a 4-byte big-endian length and the bytes. */
class EntryLog {
  constructor(file) {
    this.file = file;
    this.count = 0;
    fs.mkdirSync(path.dirname(file), { recursive: true });
  }

  /** Every complete entry in the file (a torn last entry, which a crash mid-write would leave, is dropped). */
  readAll() {
    let data;
    try {
      data = fs.readFileSync(this.file);
    } catch (e) {
      if (e.code === 'ENOENT') return [];
      throw e;
    }
    const out = [];
    let at = 0;
    while (at + 4 <= data.length) {
      const n = data.readUInt32BE(at);
      if (at + 4 + n > data.length) break;
      out.push(new Uint8Array(data.subarray(at + 4, at + 4 + n)));
      at += 4 + n;
    }
    this.count = out.length;
    return out;
  }

  append(bytes) {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(bytes.length, 0);
    fs.appendFileSync(this.file, Buffer.concat([head, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
    this.count++;
  }

  /** Replace the whole log with one entry (written aside, then renamed over it). */
  replace(bytes) {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(bytes.length, 0);
    writeAtomic(this.file, Buffer.concat([head, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)]));
    this.count = 1;
  }
}

function writeAtomic(file, data) {
  const tmp = file + '.tmp';
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function readOr(file, fallback) {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    if (e.code === 'ENOENT') return fallback;
    throw e;
  }
}

module.exports = { EntryLog, writeAtomic, readOr };
