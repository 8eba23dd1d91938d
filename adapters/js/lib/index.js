'use strict';
// The shared part of the JavaScript adapters. determinism.js must load before any engine: this
// module loads it first, and the adapters require this module before anything else.
const det = require('./determinism');
const records = require('./records');
const protocol = require('./protocol');
const sync = require('./sync');
const store = require('./store');
const crypto = require('crypto');

/** A stable 32-bit id for a replica's life (its name and boot count), for engines that need one. */
function replicaId32(...parts) {
  return crypto.createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0);
}

/** A stable hex id of `bytes` bytes for a replica's life. */
function replicaHex(bytes, ...parts) {
  return crypto.createHash('sha256').update(parts.join('\u0000')).digest().subarray(0, bytes).toString('hex');
}

const b64 = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('base64');
const unb64 = (text) => new Uint8Array(Buffer.from(text, 'base64'));

/** A file name for a user's data on the server. */
function userFile(user) {
  return 'user-' + Buffer.from(user, 'utf8').toString('hex');
}

module.exports = { det, ...records, ...protocol, ...sync, ...store, replicaId32, replicaHex, b64, unb64, userFile };
