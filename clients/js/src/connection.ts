import { AthenaError } from './errors.js';
import { CloseCode, reconnectDelay, type ReconnectOptions } from './backoff.js';

/**
 * The part of the WebSocket API the client uses. The browser's `WebSocket`
 * and Node's built-in one (Node 22, or Node 20 with
 * `--experimental-websocket`) fit; so does any object with these members.
 */
export interface SocketLike {
  /** Sends one text frame. */
  send(data: string): void;
  /** Closes the socket. */
  close(code?: number, reason?: string): void;
  /** Called once the socket is open. */
  onopen: ((ev: unknown) => void) | null;
  /** Called with each text frame in `ev.data`. */
  onmessage: ((ev: { data: unknown }) => void) | null;
  /** Called once the socket closed, with the close code. */
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  /** Called on an error; a close follows. */
  onerror: ((ev: unknown) => void) | null;
}

/** A WebSocket constructor: `new WebSocket(url)`. */
export type SocketConstructor = new (url: string) => SocketLike;

/**
 * Where the connection is: `idle` before the first call (the socket opens
 * lazily), `connecting` while the first socket opens, `open`, `reconnecting`
 * after a loss (waiting out the back-off or opening again), and `closed`
 * after {@link Client.close} or when reconnecting gave up.
 */
export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed';

/** One decoded server frame. */
export interface Frame {
  type: string;
  request_id?: string | null;
  [field: string]: unknown;
}

/** Receives the frames of one request id (internal). */
export interface Route {
  /** A reply or event frame for this id. */
  frame(f: Frame): void;
  /** A chunk frame, still undecoded: it is parsed when consumed. */
  chunk?(raw: string): void;
  /**
   * The route was removed because the socket was lost after its frame was
   * sent (`err` null), or because the client was closed (`err` says so).
   */
  lost(err: AthenaError | null): void;
}

/** Something to redo on every new socket: a job watch, a live query (internal). */
export interface Resumable {
  resume(): void;
  lost(err: AthenaError): void;
}

/** Options of the connection (a subset of ConnectOptions; internal). */
export interface ConnectionOptions {
  WebSocket?: SocketConstructor | undefined;
  apiKey?: string | undefined;
  maxQueue?: number | undefined;
  reconnect?: ReconnectOptions | undefined;
  pingIntervalMs?: number | undefined;
}

// Chunk frames are recognised without parsing them: the server writes this
// head byte for byte (wss/encode.go), and the ids are ours (no escapes).
const chunkHead = '{"type":"chunk","request_id":"';

interface Entry {
  route: Route | undefined;
  text: string | undefined; // set while the frame waits in the outbox
}

/**
 * Connection owns the socket: the only place that opens, closes and
 * reconnects it (STYLE.md rule 21). It routes frames by request id,
 * queues frames while the socket is not open, pings, and redoes the
 * resumables after each reconnect. Internal: use {@link Client}.
 */
export class Connection {
  status: ConnectionStatus = 'idle';
  private ws: SocketLike | null = null;
  private readonly entries = new Map<string, Entry>();
  private outbox: string[] = []; // ids whose frames wait for a socket, in order
  private readonly resumables = new Set<Resumable>();
  private readonly listeners = new Set<(s: ConnectionStatus) => void>();
  private seq = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setTimeout> | undefined;
  private quiet = false; // no frame since the last ping
  private opened = false;

  constructor(private readonly url: string, private readonly o: ConnectionOptions) {}

  /** A request id unique on this client (and so on each of its sockets). */
  nextId(prefix = 'r'): string {
    return prefix + (++this.seq).toString(36);
  }

  /**
   * Sends a frame carrying `request_id` and routes its frames to `route`.
   * While the socket is not open the frame waits in a bounded queue and the
   * socket is opened. Throws {@link AthenaError} `queue_full` or `closed`.
   */
  send(frame: { request_id: string } & Record<string, unknown>, route?: Route): void {
    const id = frame.request_id;
    if (this.status === 'closed') {
      throw new AthenaError('closed', 'the client is closed');
    }
    const text = JSON.stringify(frame);
    if (this.ws && this.status === 'open') {
      if (route) {
        this.entries.set(id, { route, text: undefined });
      }
      this.ws.send(text);
      return;
    }
    const max = this.o.maxQueue ?? 100;
    if (this.outbox.length >= max) {
      throw new AthenaError('queue_full', max === 0 ? 'not connected (the offline queue is disabled)' : `not connected and ${max} requests already wait`, 0, true);
    }
    this.entries.set(id, { route, text });
    this.outbox.push(id);
    this.ensureOpen();
  }

  /** Sends a control frame only if the socket is open; reports whether it did. */
  sendNow(frame: Record<string, unknown>): boolean {
    if (!this.ws || this.status !== 'open') {
      return false;
    }
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /** Takes a frame out of the queue if it was not sent yet; reports whether it was still queued. */
  unqueue(id: string): boolean {
    const e = this.entries.get(id);
    if (!e || e.text === undefined) {
      return false;
    }
    this.entries.delete(id);
    this.outbox = this.outbox.filter((q) => q !== id);
    return true;
  }

  /** Stops routing frames of id. */
  drop(id: string): void {
    this.entries.delete(id);
  }

  /** Registers something to redo on each new socket, and opens one (on a closed client it is lost at once). */
  addResumable(r: Resumable): void {
    if (this.status === 'closed') {
      r.lost(new AthenaError('closed', 'the client is closed'));
      return;
    }
    this.resumables.add(r);
    this.ensureOpen();
  }

  /** Forgets a resumable. */
  removeResumable(r: Resumable): void {
    this.resumables.delete(r);
  }

  /** Calls fn with the status now and on every change; returns the unsubscribe function. */
  onStatus(fn: (s: ConnectionStatus) => void): () => void {
    this.listeners.add(fn);
    fn(this.status);
    return () => this.listeners.delete(fn);
  }

  /** Opens the socket if none is open or coming. */
  ensureOpen(): void {
    if (this.status === 'idle') {
      this.connect();
    }
  }

  /** Closes for good: every waiting call fails with `closed`. */
  close(): void {
    if (this.status === 'closed') {
      return;
    }
    this.shutdown(new AthenaError('closed', 'the client is closed'), CloseCode.normal);
  }

  private setStatus(s: ConnectionStatus): void {
    if (this.status === s) {
      return;
    }
    this.status = s;
    this.notify();
  }

  private notify(): void {
    for (const fn of [...this.listeners]) {
      fn(this.status);
    }
  }

  private connect(): void {
    const WS = this.o.WebSocket ?? (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
    if (!WS) {
      this.shutdown(new AthenaError('no_websocket', 'no WebSocket constructor: pass one as options.WebSocket'));
      return;
    }
    this.setStatus(this.opened ? 'reconnecting' : 'connecting');
    let ws: SocketLike;
    try {
      ws = new WS(this.url);
    } catch {
      this.lost(CloseCode.abnormal);
      return;
    }
    this.ws = ws;
    ws.onopen = () => this.ws === ws && this.open(ws);
    ws.onmessage = (e) => this.ws === ws && this.receive(e.data);
    ws.onclose = (e) => this.ws === ws && this.lost(e.code);
    ws.onerror = () => {}; // a close event follows
  }

  private open(ws: SocketLike): void {
    this.attempt = 0;
    this.opened = true;
    this.status = 'open'; // listeners hear it once the queue is out
    if (this.o.apiKey) {
      // First, so the server knows the key before any request (it reads
      // frames in order). A bad key makes each request fail with 401.
      ws.send(JSON.stringify({ request_id: this.nextId('a'), action: 'auth', body: { api_key: this.o.apiKey } }));
    }
    for (const r of [...this.resumables]) {
      r.resume();
    }
    const queued = this.outbox;
    this.outbox = [];
    for (const id of queued) {
      const e = this.entries.get(id);
      if (e?.text !== undefined) {
        const text = e.text;
        e.text = undefined;
        if (!e.route) {
          this.entries.delete(id);
        }
        ws.send(text);
      }
    }
    this.quiet = false;
    this.schedulePing();
    this.notify();
  }

  private receive(data: unknown): void {
    this.quiet = false;
    const raw = typeof data === 'string' ? data : String(data);
    if (raw.startsWith(chunkHead)) {
      const id = raw.slice(chunkHead.length, raw.indexOf('"', chunkHead.length));
      this.entries.get(id)?.route?.chunk?.(raw);
      return;
    }
    let f: Frame;
    try {
      f = JSON.parse(raw) as Frame;
    } catch {
      return; // not a frame: nothing can be routed
    }
    if (!f || typeof f !== 'object' || typeof f.request_id !== 'string') {
      return; // pongs, and replies to frames the server could not read
    }
    const route = this.entries.get(f.request_id)?.route;
    if (f.type === 'chunk') {
      route?.chunk?.(raw);
    } else {
      route?.frame(f);
    }
  }

  private schedulePing(): void {
    const every = this.o.pingIntervalMs ?? 15000;
    if (every <= 0) {
      return;
    }
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      if (!this.ws || this.status !== 'open') {
        return;
      }
      if (this.quiet) {
        // Not even a pong for a whole interval: a dead socket, which a
        // browser may take minutes to notice by itself.
        this.lost(CloseCode.abnormal);
        return;
      }
      this.quiet = true;
      this.ws.send('{"action":"ping"}');
      this.schedulePing();
    }, every);
  }

  /** Detaches the socket (closing it if it is still there). */
  private detach(code: number): void {
    const ws = this.ws;
    this.ws = null;
    clearTimeout(this.pingTimer);
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(code === CloseCode.normal ? code : 4000, code === CloseCode.normal ? 'client closed' : 'ping timeout');
      } catch {
        // already closed
      }
    }
  }

  /** The socket ended without close() being called: fail what was sent, then reconnect. */
  private lost(code: number): void {
    this.detach(code);
    const delay = reconnectDelay(this.attempt++, code, this.o.reconnect);
    if (delay < 0) {
      this.shutdown(new AthenaError('closed', `the connection closed (${code}) and is not retried`));
      return;
    }
    this.setStatus('reconnecting');
    // Routes whose frames were on the lost socket; queued ones wait.
    const sent: Route[] = [];
    for (const [id, e] of this.entries) {
      if (e.text === undefined) {
        this.entries.delete(id);
        if (e.route) {
          sent.push(e.route);
        }
      }
    }
    for (const r of sent) {
      r.lost(null);
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.status === 'reconnecting') {
        this.connect();
      }
    }, delay);
  }

  private shutdown(err: AthenaError, code: number = CloseCode.normal): void {
    this.detach(code);
    clearTimeout(this.retryTimer);
    this.setStatus('closed');
    const routes = [...this.entries.values()];
    const resumables = [...this.resumables];
    this.entries.clear();
    this.outbox = [];
    this.resumables.clear();
    for (const e of routes) {
      e.route?.lost(err);
    }
    for (const r of resumables) {
      r.lost(err);
    }
  }
}
