export const id = 76;
export const ids = [76];
export const modules = {

/***/ 2076:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   LogStreamFollower: () => (/* binding */ LogStreamFollower)
/* harmony export */ });
/* unused harmony export mergeByTime */
/* harmony import */ var _aws_sdk_client_cloudwatch_logs__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(303);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8115);
/* harmony import */ var _time_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3073);
/**
 * Follows CloudWatch Logs streams live with GetLogEvents and its forward
 * token, so that every event is delivered exactly once and in order: a
 * token is only advanced past events that were handed to the sink.
 *
 * Streams are polled together; a stream that does not exist yet (the
 * awslogs driver creates it when the container starts) is simply retried on
 * the next poll. After the producer stops, drain() polls until the streams
 * stay quiet, because CloudWatch ingests the last lines with some delay.
 */



class LogStreamFollower {
    client;
    options;
    streams = new Map();
    keepLast;
    maxPages;
    clock;
    constructor(client, options) {
        this.client = client;
        this.options = options;
        this.keepLast = options.keepLast ?? 50;
        this.maxPages = options.maxPagesPerPoll ?? 100;
        this.clock = options.clock ?? _time_js__WEBPACK_IMPORTED_MODULE_1__/* .systemClock */ .ml;
    }
    /** Starts following streams; a stream already followed is ignored. */
    add(...refs) {
        for (const ref of refs)
            this.addVia(this.client, ref);
    }
    /** Follows a stream through another client (a log group in another region). */
    addVia(client, ref) {
        const key = `${ref.logGroupName}\u0000${ref.logStreamName}`;
        if (!this.streams.has(key))
            this.streams.set(key, { ref, client, found: false, recent: [], delivered: 0 });
    }
    get refs() {
        return [...this.streams.values()].map((s) => s.ref);
    }
    /** Reads every stream once up to its current end and delivers the new lines. Returns how many. */
    async poll(signal) {
        return this.deliver(await this.fetch(signal));
    }
    /**
     * Reads the new lines of every stream without delivering them yet, so a
     * caller can print what it learnt elsewhere in the same poll first. Every
     * fetched batch must be passed to deliver(): the tokens have moved past it.
     * Never rejects; on abort it returns what was read before.
     */
    async fetch(signal) {
        const states = [...this.streams.values()];
        return mergeByTime(await Promise.all(states.map((state) => this.read(state, signal))));
    }
    deliver(lines) {
        if (lines.length > 0)
            this.options.onLines?.(lines);
        for (const line of lines)
            this.options.onLine?.(line);
        return lines.length;
    }
    /** Polls until the streams stay quiet: the final lines of a stopped task arrive late. */
    async drain(options = {}, signal) {
        const quietPolls = options.quietPolls ?? 2;
        const intervalMs = options.intervalMs ?? 1000;
        const until = this.clock.now() + (options.maxMs ?? 15_000);
        let quiet = 0;
        for (;;) {
            quiet = (await this.poll(signal)) > 0 ? 0 : quiet + 1;
            if (quiet >= quietPolls || this.clock.now() + intervalMs > until)
                return;
            await this.clock.sleep(intervalMs, signal);
        }
    }
    /** The most recent lines of one stream (by label), or of all streams merged when no label is given. */
    lastLines(label, count = this.keepLast) {
        const states = [...this.streams.values()].filter((s) => label === undefined || s.ref.label === label);
        if (states.length === 1)
            return states[0].recent.slice(-count);
        return states.flatMap((s) => s.recent.map((m) => `[${s.ref.label}] ${m}`)).slice(-count);
    }
    /** Streams that were never found (the container never logged, or the log configuration is wrong). */
    missing() {
        return [...this.streams.values()].filter((s) => !s.found).map((s) => s.ref);
    }
    /** Lines delivered per label. */
    counts() {
        const counts = {};
        for (const s of this.streams.values())
            counts[s.ref.label] = (counts[s.ref.label] ?? 0) + s.delivered;
        return counts;
    }
    async read(state, signal) {
        const lines = [];
        try {
            for (let page = 0; page < this.maxPages; page++) {
                const reply = await state.client.send(new _aws_sdk_client_cloudwatch_logs__WEBPACK_IMPORTED_MODULE_2__.GetLogEventsCommand({
                    logGroupName: state.ref.logGroupName,
                    logStreamName: state.ref.logStreamName,
                    startFromHead: true,
                    ...(state.token ? { nextToken: state.token } : {}),
                }), { abortSignal: signal });
                state.found = true;
                for (const event of reply.events ?? []) {
                    const message = (event.message ?? '').replace(/\r?\n$/, '');
                    lines.push({ label: state.ref.label, timestamp: event.timestamp ?? 0, message });
                }
                const next = reply.nextForwardToken;
                // The end of the stream: AWS returns the token that was passed in.
                const atEnd = !next || next === state.token;
                if (next)
                    state.token = next;
                if (atEnd)
                    break;
            }
        }
        catch (err) {
            // Aborted or not, never throw: the token has already moved past the lines read so far.
            // The awslogs driver creates the stream when the container starts: not found is normal.
            if (!signal?.aborted && !(err instanceof _aws_sdk_client_cloudwatch_logs__WEBPACK_IMPORTED_MODULE_2__.ResourceNotFoundException)) {
                const warning = `cannot read log stream ${state.ref.logGroupName}/${state.ref.logStreamName}: ${(0,_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .errorMessage */ .gJ)(err)}`;
                if (warning !== state.lastWarning)
                    this.options.onWarning?.(warning);
                state.lastWarning = warning;
            }
        }
        // Lines read before an error on a later page are still delivered: the token already moved past them.
        state.delivered += lines.length;
        state.recent.push(...lines.map((l) => l.message));
        if (state.recent.length > this.keepLast)
            state.recent.splice(0, state.recent.length - this.keepLast);
        return lines;
    }
}
/**
 * Merges per-stream line lists by timestamp. Each stream's own order is kept
 * even if its timestamps are not monotonic: only list heads are compared.
 */
function mergeByTime(perStream) {
    const heads = perStream.map(() => 0);
    const merged = [];
    for (;;) {
        let pick = -1;
        for (let s = 0; s < perStream.length; s++) {
            const line = perStream[s][heads[s]];
            if (line && (pick < 0 || line.timestamp < perStream[pick][heads[pick]].timestamp))
                pick = s;
        }
        if (pick < 0)
            return merged;
        merged.push(perStream[pick][heads[pick]]);
        heads[pick] = heads[pick] + 1;
    }
}


/***/ })

};
