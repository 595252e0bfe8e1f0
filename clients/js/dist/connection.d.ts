import { AthenaError } from './errors.js';
import { type ReconnectOptions } from './backoff.js';
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
    onmessage: ((ev: {
        data: unknown;
    }) => void) | null;
    /** Called once the socket closed, with the close code. */
    onclose: ((ev: {
        code: number;
        reason?: string;
    }) => void) | null;
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
/**
 * Connection owns the socket: the only place that opens, closes and
 * reconnects it (STYLE.md rule 21). It routes frames by request id,
 * queues frames while the socket is not open, pings, and redoes the
 * resumables after each reconnect. Internal: use {@link Client}.
 */
export declare class Connection {
    private readonly url;
    private readonly o;
    status: ConnectionStatus;
    private ws;
    private readonly entries;
    private outbox;
    private readonly resumables;
    private readonly listeners;
    private seq;
    private attempt;
    private retryTimer;
    private pingTimer;
    private quiet;
    private opened;
    constructor(url: string, o: ConnectionOptions);
    /** A request id unique on this client (and so on each of its sockets). */
    nextId(prefix?: string): string;
    /**
     * Sends a frame carrying `request_id` and routes its frames to `route`.
     * While the socket is not open the frame waits in a bounded queue and the
     * socket is opened. Throws {@link AthenaError} `queue_full` or `closed`.
     */
    send(frame: {
        request_id: string;
    } & Record<string, unknown>, route?: Route): void;
    /** Sends a control frame only if the socket is open; reports whether it did. */
    sendNow(frame: Record<string, unknown>): boolean;
    /** Takes a frame out of the queue if it was not sent yet; reports whether it was still queued. */
    unqueue(id: string): boolean;
    /** Stops routing frames of id. */
    drop(id: string): void;
    /** Registers something to redo on each new socket, and opens one (on a closed client it is lost at once). */
    addResumable(r: Resumable): void;
    /** Forgets a resumable. */
    removeResumable(r: Resumable): void;
    /** Calls fn with the status now and on every change; returns the unsubscribe function. */
    onStatus(fn: (s: ConnectionStatus) => void): () => void;
    /** Opens the socket if none is open or coming. */
    ensureOpen(): void;
    /** Closes for good: every waiting call fails with `closed`. */
    close(): void;
    private setStatus;
    private notify;
    private connect;
    private open;
    private receive;
    private schedulePing;
    /** Detaches the socket (closing it if it is still there). */
    private detach;
    /** The socket ended without close() being called: fail what was sent, then reconnect. */
    private lost;
    private shutdown;
}
