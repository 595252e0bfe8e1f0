import { AthenaError } from './errors.js';
import { CloseCode, reconnectDelay } from './backoff.js';
// Chunk frames are recognised without parsing them: the server writes this
// head byte for byte (wss/encode.go), and the ids are ours (no escapes).
const chunkHead = '{"type":"chunk","request_id":"';
/**
 * Connection owns the socket: the only place that opens, closes and
 * reconnects it (STYLE.md rule 21). It routes frames by request id,
 * queues frames while the socket is not open, pings, and redoes the
 * resumables after each reconnect. Internal: use {@link Client}.
 */
export class Connection {
    url;
    o;
    status = 'idle';
    ws = null;
    entries = new Map();
    outbox = []; // ids whose frames wait for a socket, in order
    resumables = new Set();
    listeners = new Set();
    seq = 0;
    attempt = 0;
    retryTimer;
    pingTimer;
    quiet = false; // no frame since the last ping
    opened = false;
    constructor(url, o) {
        this.url = url;
        this.o = o;
    }
    /** A request id unique on this client (and so on each of its sockets). */
    nextId(prefix = 'r') {
        return prefix + (++this.seq).toString(36);
    }
    /**
     * Sends a frame carrying `request_id` and routes its frames to `route`.
     * While the socket is not open the frame waits in a bounded queue and the
     * socket is opened. Throws {@link AthenaError} `queue_full` or `closed`.
     */
    send(frame, route) {
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
    sendNow(frame) {
        if (!this.ws || this.status !== 'open') {
            return false;
        }
        this.ws.send(JSON.stringify(frame));
        return true;
    }
    /** Takes a frame out of the queue if it was not sent yet; reports whether it was still queued. */
    unqueue(id) {
        const e = this.entries.get(id);
        if (!e || e.text === undefined) {
            return false;
        }
        this.entries.delete(id);
        this.outbox = this.outbox.filter((q) => q !== id);
        return true;
    }
    /** Stops routing frames of id. */
    drop(id) {
        this.entries.delete(id);
    }
    /** Registers something to redo on each new socket, and opens one (on a closed client it is lost at once). */
    addResumable(r) {
        if (this.status === 'closed') {
            r.lost(new AthenaError('closed', 'the client is closed'));
            return;
        }
        this.resumables.add(r);
        this.ensureOpen();
    }
    /** Forgets a resumable. */
    removeResumable(r) {
        this.resumables.delete(r);
    }
    /** Calls fn with the status now and on every change; returns the unsubscribe function. */
    onStatus(fn) {
        this.listeners.add(fn);
        fn(this.status);
        return () => this.listeners.delete(fn);
    }
    /** Opens the socket if none is open or coming. */
    ensureOpen() {
        if (this.status === 'idle') {
            this.connect();
        }
    }
    /** Closes for good: every waiting call fails with `closed`. */
    close() {
        if (this.status === 'closed') {
            return;
        }
        this.shutdown(new AthenaError('closed', 'the client is closed'), CloseCode.normal);
    }
    setStatus(s) {
        if (this.status === s) {
            return;
        }
        this.status = s;
        this.notify();
    }
    notify() {
        for (const fn of [...this.listeners]) {
            fn(this.status);
        }
    }
    connect() {
        const WS = this.o.WebSocket ?? globalThis.WebSocket;
        if (!WS) {
            this.shutdown(new AthenaError('no_websocket', 'no WebSocket constructor: pass one as options.WebSocket'));
            return;
        }
        this.setStatus(this.opened ? 'reconnecting' : 'connecting');
        let ws;
        try {
            ws = new WS(this.url);
        }
        catch {
            this.lost(CloseCode.abnormal);
            return;
        }
        this.ws = ws;
        ws.onopen = () => this.ws === ws && this.open(ws);
        ws.onmessage = (e) => this.ws === ws && this.receive(e.data);
        ws.onclose = (e) => this.ws === ws && this.lost(e.code);
        ws.onerror = () => { }; // a close event follows
    }
    open(ws) {
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
    receive(data) {
        this.quiet = false;
        const raw = typeof data === 'string' ? data : String(data);
        if (raw.startsWith(chunkHead)) {
            const id = raw.slice(chunkHead.length, raw.indexOf('"', chunkHead.length));
            this.entries.get(id)?.route?.chunk?.(raw);
            return;
        }
        let f;
        try {
            f = JSON.parse(raw);
        }
        catch {
            return; // not a frame: nothing can be routed
        }
        if (!f || typeof f !== 'object' || typeof f.request_id !== 'string') {
            return; // pongs, and replies to frames the server could not read
        }
        const route = this.entries.get(f.request_id)?.route;
        if (f.type === 'chunk') {
            route?.chunk?.(raw);
        }
        else {
            route?.frame(f);
        }
    }
    schedulePing() {
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
    detach(code) {
        const ws = this.ws;
        this.ws = null;
        clearTimeout(this.pingTimer);
        if (ws) {
            ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
            try {
                ws.close(code === CloseCode.normal ? code : 4000, code === CloseCode.normal ? 'client closed' : 'ping timeout');
            }
            catch {
                // already closed
            }
        }
    }
    /** The socket ended without close() being called: fail what was sent, then reconnect. */
    lost(code) {
        this.detach(code);
        const delay = reconnectDelay(this.attempt++, code, this.o.reconnect);
        if (delay < 0) {
            this.shutdown(new AthenaError('closed', `the connection closed (${code}) and is not retried`));
            return;
        }
        this.setStatus('reconnecting');
        // Routes whose frames were on the lost socket; queued ones wait.
        const sent = [];
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
    shutdown(err, code = CloseCode.normal) {
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
