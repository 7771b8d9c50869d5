import { describe, expect, test } from '@jest/globals';
import { parseServices } from '../../../lib/images/services.js';

describe('parseServices', () => {
  test('YAML list with defaults: dockerfile in the context, repository = name', () => {
    expect(parseServices('- name: web\n  context: services/web/\n')).toEqual([
      {
        name: 'web',
        context: 'services/web/',
        dockerfile: 'services/web/Dockerfile',
        buildArgs: {},
        repository: 'web',
      },
    ]);
  });

  test('JSON with every field; build-args as a map or KEY=VALUE list', () => {
    const parsed = parseServices(
      JSON.stringify([
        {
          name: 'api',
          context: 'api',
          dockerfile: 'api/Dockerfile.prod',
          target: 'runtime',
          'build-args': { A: 1, B: 'x=y' },
          repository: 'alva/api',
        },
        { name: 'auth', context: 'auth', 'build-args': ['C=3', 'D=a=b'] },
      ]),
    );
    expect(parsed[0]).toEqual({
      name: 'api',
      context: 'api',
      dockerfile: 'api/Dockerfile.prod',
      target: 'runtime',
      buildArgs: { A: '1', B: 'x=y' },
      repository: 'alva/api',
    });
    expect(parsed[1]!.buildArgs).toEqual({ C: '3', D: 'a=b' });
  });

  test.each([
    ['', /Input "services": is empty/],
    ['{name: web}', /must be a non-empty list/],
    ['[]', /must be a non-empty list/],
    ['- web', /services\[0\] must be a map/],
    ['- name: web', /services\[0\]\.context \(web\) must be a non-empty string/],
    ['- {context: x}', /services\[0\]\.name must be a non-empty string/],
    ['- {name: web, context: a}\n- {name: web, context: b}', /service "web" is listed twice/],
    [
      '- {name: web, context: a, dockerFile: x}',
      /unknown field\(s\) dockerFile.*Fix: use only name, context, dockerfile/,
    ],
    [
      '- {name: web, context: a, repository: Alva/Web}',
      /repository "Alva\/Web" is not a valid repository name/,
    ],
    ['- {name: "we b", context: a}', /name "we b" may only contain/],
    [
      '- {name: web, context: a, build-args: [NOEQUALS]}',
      /build-args \(web\) entry "NOEQUALS" is not KEY=VALUE/,
    ],
    ['- {name: web, context: a, build-args: 5}', /must be a map of KEY: VALUE/],
    ['- [unclosed', /is neither JSON nor YAML/],
  ])('rejects %j with a message naming the problem', (raw, message) => {
    expect(() => parseServices(raw)).toThrow(message);
  });

  describe('paths', () => {
    test('a list, one string, or a newline/comma separated string of globs; `!` exclusions after an inclusion', () => {
      expect(
        parseServices(
          '- {name: web, context: ., paths: [packages/common/**, "services/web/**", "!**/*.md"]}',
        )[0]!.paths,
      ).toEqual(['packages/common/**', 'services/web/**', '!**/*.md']);
      expect(parseServices('- {name: web, context: ., paths: services/web/**}')[0]!.paths).toEqual([
        'services/web/**',
      ]);
      expect(
        parseServices(JSON.stringify([{ name: 'web', context: '.', paths: 'a/**\n b/**, c' }]))[0]!.paths,
      ).toEqual(['a/**', 'b/**', 'c']);
      expect(parseServices('- {name: web, context: .}')[0]!.paths).toBeUndefined();
    });

    test.each([
      ['/etc/**', 'is not a glob inside the repository'],
      ['../other/**', 'is not a glob inside the repository'],
      ['a/../../b', 'is not a glob inside the repository'],
      ['!', 'is not a glob inside the repository'],
    ])('refuses %s', (glob, problem) => {
      expect(() => parseServices(JSON.stringify([{ name: 'web', context: '.', paths: [glob] }]))).toThrow(
        problem,
      );
    });

    test('refuses an empty list, a non-string entry, and a list that starts with an exclusion', () => {
      const parse = (paths: unknown) => () =>
        parseServices(JSON.stringify([{ name: 'web', context: '.', paths }]));
      expect(parse([])).toThrow('services[0].paths (web) is empty');
      expect(parse([' '])).toThrow('is empty');
      expect(parse([1])).toThrow('entry 1 is not a string');
      expect(parse({ a: 1 })).toThrow('must be a list of globs');
      expect(parse(['!a/**', 'b/**'])).toThrow('starts with an exclusion');
    });
  });
});
