// fake.mjs is a fake WebSocket for the unit tests: the test plays the
// server, sees every frame the client sent, and opens, answers and drops
// sockets when it chooses.

/** FakeServer records the sockets a client opens through its WebSocket constructor. */
export class FakeServer {
  constructor() {
    this.sockets = [];
    const server = this;
    this.WebSocket = class FakeSocket {
      constructor(url) {
        this.url = url;
        this.sent = [];
        this.closed = null;
        this.onopen = this.onmessage = this.onclose = this.onerror = null;
        server.sockets.push(this);
      }
      send(data) {
        if (this.closed) {
          throw new Error('send on a closed socket');
        }
        this.sent.push(JSON.parse(data));
      }
      close(code, reason) {
        this.closed ??= { code, reason };
      }
      // The server side.
      open() {
        this.onopen?.({});
      }
      push(frame) {
        this.onmessage?.({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) });
      }
      drop(code = 1006) {
        this.closed ??= { code, reason: 'dropped by the test' };
        this.onclose?.({ code, reason: '' });
      }
      /** The frames sent with an action other than ping/auth. */
      requests() {
        return this.sent.filter((f) => f.action !== 'ping' && f.action !== 'auth');
      }
      reply(requestId, data, extra = {}) {
        this.push({ type: 'reply', request_id: requestId, http_status: 200, status: 'success', message: 'ok', data, ...extra });
      }
      fail(requestId, httpStatus, code, message = code) {
        this.push({ type: 'reply', request_id: requestId, http_status: httpStatus, status: 'error', message, error: message, code });
      }
      chunk(requestId, seq, rows) {
        this.push({ type: 'chunk', request_id: requestId, seq, data: rows });
      }
      event(requestId, event, data, extra = {}) {
        this.push({ type: 'event', event, request_id: requestId, data, ...extra });
      }
    };
  }

  /** The newest socket. */
  get ws() {
    return this.sockets[this.sockets.length - 1];
  }
}

/** Lets promise callbacks and immediates run (mock timers leave setImmediate alone). */
export function settle() {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Polls cond between event-loop turns until it holds (bounded by turns, not time). */
export async function until(cond, what = 'condition') {
  for (let i = 0; i < 10000; i++) {
    if (cond()) {
      return;
    }
    await settle();
  }
  throw new Error(`never true: ${what}`);
}
