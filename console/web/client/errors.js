/**
 * The error of a failed call: always a value with a machine `code`, never a
 * bare string. Errors the server reported carry its `code`, `message` and
 * `http_status` (as {@link AthenaError.httpStatus}); errors the client
 * produced carry one of {@link ClientErrorCode} and `httpStatus` 0.
 */
export class AthenaError extends Error {
    /** The machine code: the server's (`unknown_column`, `conflict`, ...) or one of {@link ClientErrorCode}. */
    code;
    /** The HTTP status REST would have given (`http_status` of the reply); 0 when no server answered. */
    httpStatus;
    /** Whether running the same call again cannot do harm twice (a read whose reply was lost). */
    retryable;
    /** The server's `error` text of the reply, when it sent one. */
    details;
    /**
     * @param code - machine code
     * @param message - human-readable message
     * @param httpStatus - the reply's `http_status`, or 0
     * @param retryable - see {@link AthenaError.retryable}
     * @param details - the reply's `error` text
     */
    constructor(code, message, httpStatus = 0, retryable = false, details) {
        super(message);
        this.name = 'AthenaError';
        this.code = code;
        this.httpStatus = httpStatus;
        this.retryable = retryable;
        this.details = details;
    }
}
/** Builds the error of an error envelope (a reply or a job result). */
export function envelopeError(env, httpStatus) {
    const code = typeof env.code === 'string' && env.code ? env.code : 'internal';
    const message = typeof env.message === 'string' && env.message ? env.message : code;
    return new AthenaError(code, message, httpStatus, false, typeof env.error === 'string' ? env.error : undefined);
}
