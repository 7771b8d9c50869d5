export const id = 521;
export const ids = [521];
export const modules = {

/***/ 8521:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   awslogsStreamFor: () => (/* binding */ awslogsStreamFor),
/* harmony export */   lastLogLines: () => (/* binding */ lastLogLines)
/* harmony export */ });
/* harmony import */ var _aws_sdk_client_cloudwatch_logs__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(303);
/* harmony import */ var _ecs_tasks_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(8334);
/**
 * CloudWatch Logs of a container that uses the awslogs driver: where its
 * stream is, and its last lines.
 */


/**
 * The stream a task's container writes to, per the awslogs driver's rule
 * `prefix/container-name/task-id`. Undefined when the container does not use
 * awslogs or sets no stream prefix (then the stream name is not derivable).
 * `task` is a task ARN or its id.
 */
function awslogsStreamFor(container, task) {
    const config = container.logConfiguration;
    if (config?.logDriver !== 'awslogs' || !container.name)
        return undefined;
    const group = config.options?.['awslogs-group'];
    const prefix = config.options?.['awslogs-stream-prefix'];
    if (!group || !prefix)
        return undefined;
    const region = config.options?.['awslogs-region'];
    return {
        logGroupName: group,
        logStreamName: `${prefix}/${container.name}/${(0,_ecs_tasks_js__WEBPACK_IMPORTED_MODULE_0__/* .taskId */ .BS)(task)}`,
        ...(region ? { region } : {}),
    };
}
/** The last `count` lines of a stream, oldest first; [] when the stream does not exist yet. */
async function lastLogLines(logs, stream, count = 20) {
    let reply;
    try {
        reply = await logs.send(new _aws_sdk_client_cloudwatch_logs__WEBPACK_IMPORTED_MODULE_1__.GetLogEventsCommand({
            logGroupName: stream.logGroupName,
            logStreamName: stream.logStreamName,
            startFromHead: false,
            limit: count,
        }));
    }
    catch (err) {
        if (err.name === 'ResourceNotFoundException')
            return [];
        throw err;
    }
    return (reply.events ?? []).map((e) => (e.message ?? '').replace(/\n$/, '')).slice(-count);
}


/***/ })

};
