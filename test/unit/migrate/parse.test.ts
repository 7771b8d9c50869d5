import { describe, expect, it } from '@jest/globals';
import { InputError } from '../../../lib/errors.js';
import {
  parseAssignPublicIp,
  parseCapacityProviderStrategy,
  parseCommand,
  parseContainerImages,
  parseLaunchType,
  parseStartedBy,
} from '../../../lib/migrate/parse.js';

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InputError);
    return err as InputError;
  }
  throw new Error('expected an InputError');
}

describe('parseCommand', () => {
  it('accepts a JSON array of strings', () => {
    expect(parseCommand('["pnpm", "db:migrate", "--to", "latest version"]')).toEqual([
      'pnpm',
      'db:migrate',
      '--to',
      'latest version',
    ]);
  });

  it('splits a shell-like string with quoting rules', () => {
    expect(parseCommand(`pnpm db:migrate --name "add users" --note 'it''s' a\\ b`)).toEqual([
      'pnpm',
      'db:migrate',
      '--name',
      'add users',
      '--note',
      'its',
      'a b',
    ]);
    expect(parseCommand(`echo '$HOME'`)).toEqual(['echo', '$HOME']);
  });

  it('rejects shell features that would not work without a shell, with the sh -c fix', () => {
    for (const [command, problem] of [
      ['pnpm migrate && pnpm seed', 'operator &&'],
      ['migrate --url $DATABASE_URL', 'variable $DATABASE_URL'],
      ['cat *.sql', 'glob *.sql'],
      ['migrate | tee out', 'operator |'],
    ]) {
      const err = inputError(() => parseCommand(command!));
      expect(err.input).toBe('command');
      expect(err.message).toContain(problem);
      expect(err.message).toContain('["sh","-c"');
    }
  });

  it('refuses a quote never closed, which a shell would wait on and shell-quote closes silently', () => {
    for (const [command, quote] of [
      ['pnpm db:migrate --name "add users', 'double quote (")'],
      ["pnpm db:migrate --name 'add users", "single quote (')"],
      [`echo "it's" 'a "quote`, "single quote (')"],
    ]) {
      const err = inputError(() => parseCommand(command!));
      expect(err.input).toBe('command');
      expect(err.message).toContain(`has a ${quote} that is never closed`);
      expect(err.message).toContain('JSON array');
    }
    // Closed, or escaped, quotes are fine.
    expect(parseCommand(`echo "it's" 'a "b"' \\"`)).toEqual(['echo', "it's", 'a "b"', '"']);
  });

  it('refuses a command on several lines, which would run as one command of every word', () => {
    const err = inputError(() => parseCommand('pnpm db:migrate\n  pnpm db:seed\n'));
    expect(err.input).toBe('command');
    expect(err.message).toContain('spans 2 lines');
    expect(err.message).toContain('["sh","-c","pnpm db:migrate && pnpm db:seed"]');
    // A JSON array may be written over several lines.
    expect(parseCommand('[\n  "pnpm",\n  "db:migrate"\n]')).toEqual(['pnpm', 'db:migrate']);
  });

  it('rejects bad JSON, non-string arrays and empty commands', () => {
    expect(inputError(() => parseCommand('["pnpm", ')).message).toContain('not valid JSON');
    expect(inputError(() => parseCommand('["pnpm", 1]')).message).toContain('array of strings');
    expect(inputError(() => parseCommand('[]')).message).toContain('non-empty');
  });
});

describe('parseContainerImages', () => {
  const images = { api: 'api:1', web: 'web:1' };
  it('maps containers to image names', () => {
    expect(parseContainerImages(['migrations=api', 'seed = web'], images)).toEqual({
      migrations: 'api',
      seed: 'web',
    });
  });
  it('finds only the names images holds, not members every object has', () => {
    const err = inputError(() => parseContainerImages(['migrations=constructor'], images));
    expect(err.input).toBe('container-images');
    expect(err.message).toContain(
      '"migrations=constructor" names image "constructor", which is not in images',
    );
    const mapping = parseContainerImages(['__proto__=api'], images);
    expect(Object.keys(mapping)).toEqual(['__proto__']);
    expect(mapping['toString']).toBeUndefined();
  });
  it('rejects unknown image names and bad pairs', () => {
    const unknown = inputError(() => parseContainerImages(['migrations=worker'], images));
    expect(unknown.input).toBe('container-images');
    expect(unknown.message).toContain('use one of: api, web');
    expect(inputError(() => parseContainerImages(['migrations'], images)).message).toContain(
      'container=image-name',
    );
  });
});

describe('parseCapacityProviderStrategy', () => {
  it('accepts the API JSON and the short form', () => {
    expect(parseCapacityProviderStrategy('[{"capacityProvider":"FARGATE_SPOT","weight":3}]')).toEqual([
      { capacityProvider: 'FARGATE_SPOT', weight: 3 },
    ]);
    expect(parseCapacityProviderStrategy('FARGATE_SPOT:3, FARGATE:1:1')).toEqual([
      { capacityProvider: 'FARGATE_SPOT', weight: 3 },
      { capacityProvider: 'FARGATE', weight: 1, base: 1 },
    ]);
  });
  it('rejects invalid strategies', () => {
    expect(inputError(() => parseCapacityProviderStrategy('A:x')).message).toContain('weight');
    expect(inputError(() => parseCapacityProviderStrategy('A:1:1,B:1:2')).message).toContain('base');
    expect(inputError(() => parseCapacityProviderStrategy('A:1:2:3')).message).toContain(
      'name[:weight[:base]]',
    );
    expect(inputError(() => parseCapacityProviderStrategy('[{"weight":1}]')).input).toBe(
      'capacity-provider-strategy',
    );
  });
});

describe('small inputs', () => {
  it('launch type', () => {
    expect(parseLaunchType('fargate')).toBe('FARGATE');
    expect(inputError(() => parseLaunchType('LAMBDA')).message).toContain('FARGATE, EC2');
  });
  it('assign-public-ip', () => {
    expect(parseAssignPublicIp('true')).toBe('ENABLED');
    expect(parseAssignPublicIp('DISABLED')).toBe('DISABLED');
    expect(inputError(() => parseAssignPublicIp('maybe')).input).toBe('assign-public-ip');
  });
  it('started-by', () => {
    expect(parseStartedBy('migrate-123-1')).toBe('migrate-123-1');
    expect(inputError(() => parseStartedBy('has space')).input).toBe('started-by');
    expect(() => parseStartedBy('x'.repeat(129))).toThrow(InputError);
  });
});
