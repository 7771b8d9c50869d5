export const id = 105;
export const ids = [105];
export const modules = {

/***/ 3105:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  deployedTemplates: () => (/* binding */ deployedTemplates)
});

// UNUSED EXPORTS: parseTemplateBody

// EXTERNAL MODULE: ./node_modules/yaml/dist/index.js
var dist = __webpack_require__(8815);
;// CONCATENATED MODULE: ./lib/aws/config.ts
/** The longest wait between two attempts of one call. */
const MAX_RETRY_DELAY_MS = 2_000;
function clientConfig(options = {}) {
    const region = options.region || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
    const envAttempts = Number(process.env.AWS_MAX_ATTEMPTS);
    const maxAttempts = options.maxAttempts ?? (envAttempts > 0 ? envAttempts : 8);
    return {
        ...(region ? { region } : {}),
        maxAttempts,
        retryStrategy: cappedRetryStrategy(maxAttempts),
    };
}
/**
 * Full-jitter exponential backoff capped at MAX_RETRY_DELAY_MS (the SDK's own
 * strategies wait up to 20 s between attempts, in timers an abort does not
 * clear: a cancelled step would outlive GitHub's grace). Longer outages are
 * the callers' to ride out: the follow loop backs off across polls until its
 * deadline, and rollbacks retry until theirs.
 */
function cappedRetryStrategy(maxAttempts, random = Math.random) {
    const token = (retries, delay) => ({
        getRetryCount: () => retries,
        getRetryDelay: () => delay,
    });
    return {
        acquireInitialRetryToken: () => Promise.resolve(token(0, 0)),
        refreshRetryTokenForRetry: (previous, info) => {
            const retries = previous.getRetryCount() + 1;
            if (info.errorType === 'CLIENT_ERROR' || retries >= maxAttempts)
                return Promise.reject(info.error);
            const base = info.errorType === 'THROTTLING' ? 500 : 100;
            const delay = Math.floor(random() * Math.min(MAX_RETRY_DELAY_MS, base * 2 ** retries));
            return Promise.resolve(token(retries, delay));
        },
        recordSuccess: () => undefined,
    };
}
/** The region of every client: AWS_REGION or AWS_DEFAULT_REGION, as configure-aws-credentials sets them. */
function requireRegion() {
    const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
    if (!region) {
        throw new Error('No AWS region: set AWS_REGION (aws-actions/configure-aws-credentials does) before this step');
    }
    return region;
}
/** Console URL for humans; region-aware. */
function consoleUrl(region, path) {
    return `https://${region}.console.aws.amazon.com/${path.replace(/^\//, '')}`;
}

// EXTERNAL MODULE: ./lib/errors.ts
var errors = __webpack_require__(8115);
;// CONCATENATED MODULE: ./lib/cdkdiff/deployed.ts



/** CloudFormation's YAML short forms (!Ref, !GetAtt, !Sub, ...) as their JSON long forms. */
const INTRINSICS = [
    'Ref',
    'Condition',
    'GetAtt',
    'Sub',
    'Join',
    'Select',
    'Split',
    'FindInMap',
    'GetAZs',
    'ImportValue',
    'If',
    'Equals',
    'Not',
    'And',
    'Or',
    'Base64',
    'Cidr',
    'Transform',
    'ToJsonString',
    'Length',
];
const cfnTags = INTRINSICS.flatMap((name) => {
    const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
    const wrap = (value) => ({
        [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value,
    });
    const json = (node) => wrap(node.toJSON());
    return [
        { tag: `!${name}`, resolve: (text) => wrap(text) },
        { tag: `!${name}`, collection: 'seq', resolve: json },
        { tag: `!${name}`, collection: 'map', resolve: json },
    ];
});
/** A TemplateBody: JSON, or YAML for stacks deployed from a YAML template. */
function parseTemplateBody(body) {
    try {
        return JSON.parse(body);
    }
    catch {
        return (0,dist/* parse */.qg)(body, { customTags: cfnTags });
    }
}
function isMissingStack(err) {
    const e = err;
    return e?.name === 'ValidationError' && /does not exist/i.test(e.message ?? '');
}
/** Each stack's deployed template; undefined when the stack does not exist yet. */
async function deployedTemplates(stacks, options = {}) {
    const { CloudFormationClient, GetTemplateCommand } = await __webpack_require__.e(/* import() */ 805).then(__webpack_require__.t.bind(__webpack_require__, 3805, 19));
    const clients = new Map();
    const clientFor = (region) => {
        const key = region ?? '';
        let client = clients.get(key);
        if (!client) {
            client = options.client?.(region) ?? new CloudFormationClient(clientConfig({ region }));
            clients.set(key, client);
        }
        return client;
    };
    const result = new Map();
    await Promise.all(stacks.map(async (stack) => {
        const region = stack.region ?? options.region;
        try {
            const reply = await clientFor(region).send(new GetTemplateCommand({ StackName: stack.stackName, TemplateStage: 'Original' }));
            result.set(stack, reply.TemplateBody ? parseTemplateBody(reply.TemplateBody) : undefined);
        }
        catch (err) {
            if (isMissingStack(err)) {
                result.set(stack, undefined);
                return;
            }
            throw new errors/* OperationError */.OK(`GetTemplate for stack ${stack.stackName}${region ? ` in ${region}` : ''} failed: ${err.name}: ${err.message}`, [
                'The role needs cloudformation:GetTemplate on the stacks; or diff against the base branch with `base-assembly` instead.',
            ]);
        }
    }));
    for (const client of clients.values())
        client.destroy();
    return result;
}


/***/ })

};
