import { AthenaError } from './errors.js';
import { submit } from './job.js';
import { LiveQuery } from './live.js';
import { call, failed, RowStream, toResult } from './request.js';
const actions = {
    select: 'gateway.fetch',
    insert: 'gateway.insert',
    upsert: 'gateway.insert',
    update: 'gateway.update',
    delete: 'gateway.delete',
    sql: 'gateway.query',
};
/**
 * QueryBuilder is what `client.from(table)` returns: an immutable chain
 * (every method returns a new builder) that runs when awaited, once per
 * builder — awaiting the same builder again gives the same result and sends
 * nothing. Filters may come before `select()` (the `@xylex-group/athena`
 * order) or after it (the supabase-js order); `update()` and `delete()`
 * take the filters from both sides too. The result is a {@link Result}:
 * a failed call resolves with `error` set, it never rejects.
 */
export class QueryBuilder {
    ctx;
    s;
    run;
    /** @internal Use {@link Client.from}. */
    constructor(ctx, s) {
        this.ctx = ctx;
        this.s = s;
    }
    with(patch) {
        return new QueryBuilder(this.ctx, { ...this.s, ...patch });
    }
    where(operator, column, value) {
        const c = { operator };
        if (column !== undefined) {
            c.column = column;
        }
        if (value !== undefined) {
            c.value = value;
        }
        return this.with({ conditions: [...this.s.conditions, c] });
    }
    /** Chooses the columns to return (`"id,name"`; default all), and for reads makes the chain a select. */
    select(columns) {
        return this.with({ columns });
    }
    /**
     * Makes the select an aggregate computed by the database: one row per
     * group holding the groups, then the measures. Filters, `order()` (on a
     * group or measure name), `limit()`/`range()` (counting groups),
     * `stream()` and `defer()` apply as to rows; `select()` columns do not
     * combine with it. Sums keep every digit (JSON numbers); averages of
     * integers are exact decimals.
     *
     * @example
     * const { data } = await athena.from('orders')
     *   .aggregate({ group_by: ['region', { column: 'created_at', bucket: 'day', as: 'day' }],
     *                measures: { revenue: 'sum(amount)', orders: 'count(*)' } })
     *   .gte('created_at', '2024-03-01T00:00:00Z')
     *   .order('revenue', { ascending: false })
     *   .limit(20);
     */
    aggregate(spec) {
        return this.with({ op: 'select', aggregate: spec });
    }
    /** Rows whose column equals value (`null` means IS NULL). */
    eq(column, value) {
        return this.where('eq', column, value);
    }
    /** Rows whose column differs from value. */
    neq(column, value) {
        return this.where('neq', column, value);
    }
    /** Rows whose column is greater than value. */
    gt(column, value) {
        return this.where('gt', column, value);
    }
    /** Rows whose column is greater than or equal to value. */
    gte(column, value) {
        return this.where('gte', column, value);
    }
    /** Rows whose column is less than value. */
    lt(column, value) {
        return this.where('lt', column, value);
    }
    /** Rows whose column is less than or equal to value. */
    lte(column, value) {
        return this.where('lte', column, value);
    }
    /** Rows whose column matches a LIKE pattern (`%` or `*` as wildcard). */
    like(column, pattern) {
        return this.where('like', column, pattern);
    }
    /** Rows whose column matches a pattern, ignoring case. */
    ilike(column, pattern) {
        return this.where('ilike', column, pattern);
    }
    /** Rows whose column IS null, true or false. */
    is(column, value) {
        return this.where('is', column, value);
    }
    /** Rows whose column is one of values. */
    in(column, values) {
        return this.where('in', column, values);
    }
    /** Rows whose array or JSON column contains value. */
    contains(column, value) {
        return this.where('contains', column, value);
    }
    /** Rows whose array or JSON column is contained by value. */
    containedBy(column, value) {
        return this.where('containedBy', column, value);
    }
    /**
     * Negation: `not("age", "gt", 30)`, or `not("age.gt.30,name.eq.bob")`
     * (a PostgREST-style expression, negated as a whole).
     */
    not(columnOrExpression, operator, value) {
        if (operator !== undefined && value !== undefined) {
            const v = Array.isArray(value) ? `(${value.join(',')})` : String(value);
            return this.where('not', undefined, `${columnOrExpression}.${operator}.${v}`);
        }
        return this.where('not', undefined, columnOrExpression);
    }
    /** Rows matching any of a PostgREST-style expression: `"age.gt.30,name.eq.bob"`. */
    or(expression) {
        return this.where('or', undefined, expression);
    }
    /** Rows whose columns equal every value of filters. */
    match(filters) {
        let b = this;
        for (const [column, value] of Object.entries(filters)) {
            b = b.eq(column, value);
        }
        return b;
    }
    /** Sorts by column (one column: the server's `sort_by`; a later call replaces it). */
    order(column, options = {}) {
        return this.with({ sort: { field: column, direction: options.ascending === false ? 'desc' : 'asc' } });
    }
    /** Returns at most count rows. */
    limit(count) {
        return this.with({ limit: count });
    }
    /** Returns rows from index `from` to `to`, both included (offset and limit). */
    range(from, to) {
        return this.with({ offset: from, limit: to - from + 1 });
    }
    /** Makes the result one row: `error` `not_single` unless exactly one row matched. */
    single(columns) {
        return new SingleQuery(this.with({ single: 'one', ...(columns !== undefined ? { columns } : {}) }));
    }
    /** Makes the result one row or null: `error` `not_single` if more than one matched. */
    maybeSingle(columns) {
        return new SingleQuery(this.with({ single: 'maybe', ...(columns !== undefined ? { columns } : {}) }));
    }
    /** Inserts one row or an array of rows (one statement, one transaction); the result holds the rows written. */
    insert(values, options = {}) {
        return this.with({ op: 'insert', values, defaultToNull: options.defaultToNull });
    }
    /** Inserts, or updates on conflict with `onConflict` (setting `updateBody`, default the inserted values). */
    upsert(values, options = {}) {
        return this.with({ op: 'upsert', values, onConflict: options.onConflict, updateBody: options.updateBody, defaultToNull: options.defaultToNull });
    }
    /** Updates the rows the filters match; the result holds the updated rows, `meta.affected_rows` their count. */
    update(values) {
        return this.with({ op: 'update', values });
    }
    /** Deletes the rows the filters match (or the row `resourceId` names); the result holds the deleted rows. */
    delete(options = {}) {
        return this.with({ op: 'delete', resourceId: options.resourceId });
    }
    /** Cancels the call (`request.cancel`) when signal aborts. */
    abortSignal(signal) {
        return this.with({ signal });
    }
    /** Sets the server-side deadline (`timeout_ms`). */
    timeout(ms) {
        return this.with({ timeoutMs: ms });
    }
    /** Runs the call (once per builder) and resolves with its {@link Result}. */
    then(onfulfilled, onrejected) {
        this.run ??= this.execute();
        return this.run.then(onfulfilled, onrejected);
    }
    /**
     * Streams the rows of a select (or SQL query) as chunks: an async
     * iterator of {@link RowBatch} with a running row count, not capped by
     * the server's `max_rows`.
     */
    stream(options = {}) {
        return new RowStream(this.ctx.conn, this.frame(), options.signal ?? this.s.signal);
    }
    /**
     * Defers the call: the server stores it as a job and answers at once.
     * Resolves with the {@link Job} once the server acknowledged it; rejects
     * with an {@link AthenaError} if it refused (e.g. `queue_unavailable`)
     * or the acknowledgement was lost (`unknown_outcome`: it is not sent
     * again). The signal cancels the deferral until it is acknowledged; then
     * cancel the job with {@link Job.cancel}.
     */
    defer(options = {}) {
        return submit(this.ctx.conn, this.frame(), this.ctx.jobPollMs, { signal: options.signal ?? this.s.signal, timeoutMs: options.timeoutMs ?? this.s.timeoutMs });
    }
    /**
     * Subscribes to the select as a live query (`live.subscribe`, DESIGN.md
     * §4b): callback gets the first rows, then every change, with the
     * current rows kept by the client; after a reconnect it resumes from its
     * cursor. Needs a server with live queries. Aborting the signal
     * unsubscribes.
     */
    subscribe(callback, options = {}) {
        const live = new LiveQuery(this.ctx.conn, this.frame(), callback);
        const signal = options.signal ?? this.s.signal;
        if (signal?.aborted) {
            live.unsubscribe();
        }
        else {
            signal?.addEventListener('abort', () => live.unsubscribe(), { once: true });
        }
        return live;
    }
    /** The request frame (without request_id). */
    frame() {
        const s = this.s;
        const body = s.op === 'sql' ? { query: s.query } : { table_name: s.table };
        if (s.columns !== undefined && s.op !== 'sql') {
            body.columns = s.columns;
        }
        const conditions = s.conditions.filter((c) => !(s.op === 'delete' && c.operator === 'eq' && c.column === 'resource_id'));
        const resourceId = s.resourceId ?? s.conditions.find((c) => s.op === 'delete' && c.operator === 'eq' && c.column === 'resource_id')?.value;
        switch (s.op) {
            case 'select':
                if (s.aggregate !== undefined)
                    body.aggregate = s.aggregate;
                if (s.limit !== undefined)
                    body.limit = s.limit;
                if (s.offset !== undefined)
                    body.offset = s.offset;
                if (s.sort)
                    body.sort_by = s.sort;
                break;
            case 'insert':
            case 'upsert':
                body.insert_body = s.values;
                if (s.onConflict !== undefined)
                    body.on_conflict = s.onConflict;
                if (s.updateBody !== undefined)
                    body.update_body = s.updateBody;
                if (s.defaultToNull !== undefined)
                    body.default_to_null = s.defaultToNull;
                break;
            case 'update':
                body.update_body = s.values;
                break;
            case 'delete':
                if (resourceId !== undefined)
                    body.resource_id = resourceId;
                break;
        }
        if (conditions.length && s.op !== 'insert' && s.op !== 'upsert' && s.op !== 'sql') {
            body.conditions = conditions;
        }
        const frame = { action: actions[s.op], body };
        if (Object.keys(this.ctx.headers).length) {
            frame.headers = this.ctx.headers;
        }
        return frame;
    }
    async execute() {
        const s = this.s;
        const kind = s.op === 'select' ? 'read' : 'write';
        let r;
        try {
            r = toResult(await call(this.ctx.conn, this.frame(), kind, { signal: s.signal, timeoutMs: s.timeoutMs }));
        }
        catch (e) {
            return failed(e);
        }
        if (r.error) {
            return r;
        }
        // update and delete answer {affected_rows, rows}: data is the rows.
        const d = r.data;
        if ((s.op === 'update' || s.op === 'delete') && d && !Array.isArray(d) && 'rows' in d) {
            r = { ...r, data: d.rows ?? [], meta: { ...r.meta, affected_rows: d.affected_rows } };
        }
        if (s.single) {
            const rows = Array.isArray(r.data) ? r.data : [r.data];
            if (rows.length > 1 || (rows.length === 0 && s.single === 'one')) {
                const e = new AthenaError('not_single', `expected ${s.single === 'one' ? 'exactly one row' : 'at most one row'}, got ${rows.length}`, 406);
                return { data: null, error: e, status: 406, meta: r.meta };
            }
            r = { ...r, data: rows[0] ?? null };
        }
        return r;
    }
}
/**
 * SingleQuery is what `single()` and `maybeSingle()` return: awaited, its
 * `data` is one row (or null) instead of an array.
 */
export class SingleQuery {
    q;
    /** @internal Use {@link QueryBuilder.single} or {@link QueryBuilder.maybeSingle}. */
    constructor(q) {
        this.q = q;
    }
    /** Cancels the call (`request.cancel`) when signal aborts. */
    abortSignal(signal) {
        return new SingleQuery(this.q.abortSignal(signal));
    }
    /** Runs the call (once) and resolves with its {@link Result}. */
    then(onfulfilled, onrejected) {
        return this.q.then(onfulfilled, onrejected);
    }
}
