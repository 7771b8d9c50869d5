// Moved to runner/docker.ts (bench/build.ts shares it, and bench/ never imports test/).
// Kept only for test/reliability/build-push.faults.test.ts, whose import is not this change's to edit.
export * from '../../runner/docker.js';
