import { AthenaError } from './errors.js';
import type { Connection, Frame, Resumable } from './connection.js';
import { toResult, type FrameBody, type Row } from './request.js';

/** One change of a live query, as `live.change` carries it. */
export interface LiveChange<T> {
  /** What happened to the row. */
  op: 'insert' | 'update' | 'delete';
  /** The row as it is now (insert, update). */
  row?: T;
  /** The row's key columns (`meta.key` of the subscription). */
  key?: Record<string, unknown>;
}

/**
 * What a live query's callback receives: `rows` is always the whole current
 * result, kept by the client. `snapshot` is the first result, `change` one
 * applied change, `resync` a full replacement (after a reconnect the server
 * could not replay, or when it says so), `end` the end of the subscription
 * (`error` says why).
 */
export interface LiveEvent<T> {
  /** What happened. */
  type: 'snapshot' | 'change' | 'resync' | 'end';
  /** The whole current result. */
  rows: T[];
  /** The change applied (type `change`). */
  change?: LiveChange<T>;
  /** Why it ended (type `end`; absent after unsubscribe). */
  error?: AthenaError;
}

/**
 * LiveQuery is a live subscription (DESIGN.md §4b, `live.subscribe`): the
 * current rows, then every change, with the rows materialized here. After a
 * reconnect it subscribes again with its resume cursor. It needs a server
 * with live queries; against one without, it ends at once with the
 * server's error (`bad_request`: unknown action).
 */
export class LiveQuery<T = Row> implements Resumable {
  /** The current rows. */
  rows: T[] = [];
  /** Resolves with the first rows; rejects if the subscription ended before them. */
  readonly ready: Promise<T[]>;
  private cursor: string | undefined;
  private key: string[] = [];
  private routeId: string | undefined;
  private done = false;
  private started = false;
  private resolveReady!: (rows: T[]) => void;
  private rejectReady!: (e: AthenaError) => void;

  /** @internal Use {@link QueryBuilder.subscribe}. */
  constructor(
    private readonly conn: Connection,
    private readonly request: FrameBody,
    private readonly callback: (e: LiveEvent<T>) => void,
  ) {
    this.ready = new Promise<T[]>((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => {}); // the callback hears the error too
    conn.addResumable(this);
    if (conn.status === 'open') {
      this.resume();
    }
  }

  /** Ends the subscription (`live.unsubscribe`). */
  unsubscribe(): void {
    if (this.routeId !== undefined) {
      this.conn.sendNow({ request_id: this.conn.nextId('c'), action: 'live.unsubscribe', body: { request_id: this.routeId } });
    }
    this.end(undefined, false);
  }

  /** @internal Subscribes on a new socket, resuming from the cursor when there is one. */
  resume(): void {
    if (this.done) {
      return;
    }
    const id = this.conn.nextId('l');
    this.routeId = id;
    const frame: FrameBody = { ...this.request, request_id: id, action: 'live.subscribe' };
    if (this.cursor !== undefined) {
      frame.resume = { cursor: this.cursor };
    }
    this.conn.send(frame as { request_id: string }, {
      frame: (f) => this.frame(f),
      lost: (err) => err && this.lost(err),
    });
  }

  /** @internal The client closed. */
  lost(err: AthenaError): void {
    this.end(err, true);
  }

  private frame(f: Frame): void {
    if (f.type === 'reply') {
      const r = toResult<T[]>(f);
      if (r.error) {
        this.end(r.error, true);
        return;
      }
      const meta = r.meta ?? {};
      if (Array.isArray(meta.key)) {
        this.key = meta.key as string[];
      }
      this.cursor = typeof meta.cursor === 'string' ? meta.cursor : this.cursor;
      // A resumed subscription whose missed changes follow as events keeps
      // its rows; any other reply carries the whole result.
      if (!(meta.resumed === true && this.started)) {
        this.replace(Array.isArray(r.data) ? r.data : [], this.started ? 'resync' : 'snapshot');
      }
      return;
    }
    if (f.type !== 'event') {
      return;
    }
    if (typeof f.cursor === 'string') {
      this.cursor = f.cursor;
    }
    if (f.event === 'live.change') {
      const change = f.data as LiveChange<T>;
      this.apply(change);
      this.callback({ type: 'change', rows: this.rows, change });
    } else if (f.event === 'live.resync') {
      this.replace(Array.isArray(f.data) ? (f.data as T[]) : [], 'resync');
    } else if (f.event === 'live.end') {
      const d = (f.data ?? {}) as { code?: string; message?: string };
      this.end(new AthenaError(d.code ?? 'closed', d.message ?? 'the live query ended'), true);
    }
  }

  private replace(rows: T[], type: 'snapshot' | 'resync'): void {
    this.rows = rows;
    if (!this.started) {
      this.started = true;
      this.resolveReady(rows);
    }
    this.callback({ type, rows });
  }

  private id(v: Record<string, unknown> | undefined): string {
    return JSON.stringify(this.key.map((k) => v?.[k]));
  }

  private apply(c: LiveChange<T>): void {
    const key = this.id((c.key ?? c.row) as Record<string, unknown> | undefined);
    const at = this.rows.findIndex((r) => this.id(r as Record<string, unknown>) === key);
    const rows = this.rows.slice();
    if (c.op === 'delete') {
      if (at >= 0) {
        rows.splice(at, 1);
      }
    } else if (c.row !== undefined) {
      if (at >= 0) {
        rows[at] = c.row;
      } else {
        rows.push(c.row);
      }
      const sort = (this.request.body as { sort_by?: { field?: string; direction?: string } } | undefined)?.sort_by;
      if (sort?.field) {
        const f = sort.field;
        const dir = /^asc/i.test(sort.direction ?? 'asc') ? 1 : -1;
        rows.sort((a, b) => {
          const x = (a as Row)[f] as number | string;
          const y = (b as Row)[f] as number | string;
          return x === y ? 0 : x < y ? -dir : dir;
        });
      }
    }
    this.rows = rows;
  }

  private end(err: AthenaError | undefined, notify: boolean): void {
    if (this.done) {
      return;
    }
    this.done = true;
    this.conn.removeResumable(this);
    if (this.routeId !== undefined) {
      this.conn.drop(this.routeId);
    }
    if (!this.started) {
      this.rejectReady(err ?? new AthenaError('canceled', 'unsubscribed before the first rows', 499));
    }
    if (notify) {
      this.callback({ type: 'end', rows: this.rows, ...(err ? { error: err } : {}) });
    }
  }
}
