'use strict';
/*
 * A device's sync rounds, the same for every engine: when to sync, one request in flight at a
 * time, request timeouts, retries with backoff. The engine supplies a session that knows what
 * the requests say:
 *
 *   begin(first)   the first request body of a round (a fresh start: a reconnect); `first`
 *                  is false when the round starts again after a failure
 *   reply(body)    handle the server's answer; returns the next request body, or null when
 *                  the round is complete. Throw BadReply for an answer that makes no sense.
 *   abort()        the round was abandoned (a timeout, the network went away)
 *   dirty()        local changes the server is not known to have
 *   queue()        how many local changes wait (for sync_begin)
 *   pulled()       how many records the round changed here (for sync_end)
 *
 * Requests carry `req`, "<boot>-<n>": an answer is accepted only for the request in flight,
 * so a late, duplicated or earlier life's answer is ignored. The network may lose any message:
 * a request unanswered for REQUEST_TIMEOUT fails, and the round starts again from begin()
 * after a backoff. The server only answers; devices ask.
 */

const det = require('./determinism');

const SYNC_INTERVAL_US = 5 * 60 * 1e6;   // periodic sync (monotonic clock)
const SYNC_AFTER_WRITE_US = 2 * 1e6;     // sync this long after a local write
const REQUEST_TIMEOUT_US = 10 * 1e6;     // an unanswered request has failed
const RETRY_FIRST_US = 1e6;              // backoff after a failure, doubling ...
const RETRY_MAX_US = 60 * 1e6;           // ... up to this, +-20% jitter from the seed
const MAX_STEPS = 200;                   // requests in one round before it is given up

class BadReply extends Error {}

class Rounds {
  constructor(ctx, session) {
    this.ctx = ctx;
    this.session = session;
    this.online = false;
    this.round = null;          // {steps} while a round is under way (or waits for a retry)
    this.inflight = null;       // {req, timer}
    this.retryTimer = null;
    this.afterWriteTimer = null;
    this.failures = 0;
    this.nextReq = 1;
    this.periodic();
  }

  periodic() {
    det.after(SYNC_INTERVAL_US, () => {
      this.periodic();
      return this.sync(false);
    });
  }

  idle() {
    return !this.round && !this.session.dirty();
  }

  /** A local write: sync shortly, batching quick edits. */
  wrote() {
    if (this.afterWriteTimer !== null) return;
    this.afterWriteTimer = det.after(SYNC_AFTER_WRITE_US, () => {
      this.afterWriteTimer = null;
      return this.sync(false);
    });
  }

  async control(what) {
    if (what === 'net_down') {
      this.online = false;
      this.abandon();
    } else if (what === 'net_up') {
      this.online = true;
      await this.sync(true);
    } else if (what === 'sync') {
      await this.sync(true);
    } else {
      this.ctx.fx.log(`unknown control '${what}' ignored`);
    }
  }

  abandon() {
    if (this.inflight) det.cancel(this.inflight.timer);
    if (this.retryTimer !== null) det.cancel(this.retryTimer);
    this.inflight = null;
    this.retryTimer = null;
    if (this.round) this.session.abort();
    this.round = null;
  }

  /** Start a round unless one is under way; `hurry` (the user, a reconnect) cuts a backoff short. */
  async sync(hurry) {
    if (!this.online) return;
    if (this.round) {
      if (hurry && this.retryTimer !== null && !this.inflight) {
        det.cancel(this.retryTimer);
        this.retryTimer = null;
        await this.begin(false);
      }
      return;
    }
    this.round = { steps: 0 };
    this.ctx.fx.add('sync_begin', { queue: this.session.queue() });
    await this.begin(true);
  }

  async begin(first) {
    const body = await this.session.begin(first);
    this.send(body);
  }

  send(body) {
    const req = `${this.ctx.boot}-${this.nextReq++}`;
    this.ctx.fx.send('server', { ...body, req });
    this.round.steps++;
    this.inflight = { req, timer: det.after(REQUEST_TIMEOUT_US, () => this.failed('no answer')) };
  }

  async failed(why) {
    if (!this.round) return;
    if (this.inflight) det.cancel(this.inflight.timer);
    this.inflight = null;
    this.session.abort();
    this.failures++;
    this.ctx.fx.add('retry', { attempt: this.failures });
    this.ctx.fx.log(`request failed (${why}); retry ${this.failures}`);
    this.retryTimer = det.after(this.backoff(), async () => {
      this.retryTimer = null;
      if (this.online && this.round) await this.begin(false);
    });
  }

  backoff() {
    const base = Math.min(RETRY_MAX_US, RETRY_FIRST_US * 2 ** Math.min(this.failures - 1, 20));
    return Math.floor(base * 0.8 + this.ctx.rng.float() * base * 0.4);
  }

  async deliver(src, body) {
    if (src !== 'server' || !body || typeof body !== 'object') {
      this.ctx.fx.log(`ignored a message from ${src} that is not the server's answer`);
      return;
    }
    if (!this.inflight || body.req !== this.inflight.req) return;   // late, duplicated, or given up on
    det.cancel(this.inflight.timer);
    this.inflight = null;
    let next;
    try {
      next = await this.session.reply(body);
    } catch (e) {
      if (!(e instanceof BadReply)) throw e;
      await this.failed(`a bad answer: ${e.message}`);
      return;
    }
    this.failures = 0;
    if (next && this.round.steps >= MAX_STEPS) {
      this.ctx.fx.log(`a round of ${MAX_STEPS} requests has not finished: giving it up`);
      this.ctx.fx.add('gave_up', { reason: `${MAX_STEPS} requests in one round` });
      this.session.abort();
      next = null;
    }
    if (next) {
      this.send(next);
      return;
    }
    this.ctx.fx.add('sync_end', { pulled: this.session.pulled() });
    this.round = null;
    if (this.session.dirty()) this.wrote();   // written while the round was under way
  }
}

module.exports = { Rounds, BadReply, SYNC_INTERVAL_US, SYNC_AFTER_WRITE_US, REQUEST_TIMEOUT_US };
