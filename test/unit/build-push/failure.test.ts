import { describe, expect, test } from '@jest/globals';
import { parseBuildFailure } from '../../../lib/images/failure.js';

// Docker 20.10's BuildKit, --progress plain, as captured from a failing COPY (with missing cache sources).
const COPY_FAILURE = `#8 importing cache manifest from 127.0.0.1:5000/web:buildcache
#8 sha256:22b4b9803dde04be1e28f3a27d34dc0bbd90270fd8cd95f72d4e1ca9046743d6
#8 ERROR: 127.0.0.1:5000/web:buildcache: not found

#4 [1/3] FROM docker.io/ecs-ship/node:24
#4 sha256:4ce8ea72a9de3aa6ae808c07611d0225461e617a7000ce7703b2f262e6753f3c
#4 DONE 0.0s

#7 [3/3] COPY package.json server.js missing.js ./
#7 sha256:12ccef33d8d7c7ba9c4daa15de469a4af7307663f6d50d92388a8dcfba1713d2
#7 ERROR: "/missing.js" not found: not found
------
 > [3/3] COPY package.json server.js missing.js ./:
------
failed to compute cache key: "/missing.js" not found: not found
`;

// Docker 28 / buildx style: a RUN step with output, then the error.
const RUN_FAILURE = `#5 [build 2/4] RUN npm test
#5 0.412 > test
#5 0.913 FAIL src/app.test.js
#5 0.915   expected 200, got 500
#5 ERROR: process "/bin/sh -c npm test" did not complete successfully: exit code: 1
------
 > [build 2/4] RUN npm test:
0.913 FAIL src/app.test.js
------
Dockerfile:4
--------------------
   4 | >>> RUN npm test
--------------------
ERROR: failed to solve: process "/bin/sh -c npm test" did not complete successfully: exit code: 1
`;

describe('parseBuildFailure', () => {
  test('names the Dockerfile step, not a missing cache source', () => {
    const failure = parseBuildFailure(COPY_FAILURE);
    expect(failure.step).toBe('[3/3] COPY package.json server.js missing.js ./');
    expect(failure.error).toBe('"/missing.js" not found: not found');
  });

  test("a RUN step's own output without BuildKit's timestamps", () => {
    const failure = parseBuildFailure(RUN_FAILURE);
    expect(failure.step).toBe('[build 2/4] RUN npm test');
    expect(failure.error).toBe('process "/bin/sh -c npm test" did not complete successfully: exit code: 1');
    expect(failure.output).toEqual(['> test', 'FAIL src/app.test.js', '  expected 200, got 500']);
  });

  test('keeps only the last lines of long output', () => {
    const lines = Array.from({ length: 50 }, (_, i) => `#5 ${i}.000 line ${i}`);
    const failure = parseBuildFailure(
      ['#5 [2/2] RUN make', ...lines, '#5 ERROR: exit code: 2'].join('\n'),
      5,
    );
    expect(failure.output).toEqual(['line 45', 'line 46', 'line 47', 'line 48', 'line 49']);
  });

  test('no step ran (Dockerfile syntax error): the final error and the end of the log', () => {
    const log = `#1 [internal] load build definition from Dockerfile
#1 DONE 0.0s
error: failed to solve: rpc error: code = Unknown desc = failed to solve with frontend dockerfile.v0: failed to create LLB definition: dockerfile parse error line 3: unknown instruction: COPPY`;
    const failure = parseBuildFailure(log);
    expect(failure.step).toBeUndefined();
    expect(failure.error).toMatch(/unknown instruction: COPPY/);
    expect(failure.output.at(-1)).toMatch(/COPPY/);
  });
});
