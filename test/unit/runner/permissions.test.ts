import { describe, expect, it } from '@jest/globals';
import { DEFAULT_PERMISSIONS, declaredPermissions, jobPermissions } from '../../../runner/permissions.js';

describe('jobPermissions', () => {
  it('gives no id-token by default (the restricted repository default)', () => {
    expect(jobPermissions(undefined, undefined, undefined, 'j')['id-token']).toBe('none');
    expect(DEFAULT_PERMISSIONS.contents).toBe('read');
  });

  it('takes the job over the workflow, and every scope a map leaves out is none', () => {
    const p = jobPermissions({ 'id-token': 'write' }, 'write-all', undefined, 'j');
    expect(p['id-token']).toBe('write');
    expect(p.contents).toBe('none');
    expect(jobPermissions(undefined, {}, undefined, 'j')['id-token']).toBe('none');
    expect(jobPermissions(undefined, 'write-all', undefined, 'j')['id-token']).toBe('write');
  });

  it('caps a called workflow at its caller job: it may lower, never raise', () => {
    const caller = jobPermissions({ contents: 'read' }, {}, undefined, 'caller');
    // The called job asks for id-token: write; its caller did not grant it.
    expect(jobPermissions({ contents: 'read', 'id-token': 'write' }, {}, caller, 'called')['id-token']).toBe(
      'none',
    );
    const granting = jobPermissions({ contents: 'read', 'id-token': 'write' }, {}, undefined, 'caller');
    expect(
      jobPermissions({ contents: 'read', 'id-token': 'write' }, {}, granting, 'called')['id-token'],
    ).toBe('write');
    // A called job that declares nothing (and whose workflow declares nothing) inherits the ceiling.
    expect(jobPermissions(undefined, undefined, granting, 'called')['id-token']).toBe('write');
    // The called workflow's `permissions: {}` lowers everything for its jobs that declare nothing.
    expect(jobPermissions(undefined, {}, granting, 'called')['id-token']).toBe('none');
  });

  it('refuses what GitHub refuses', () => {
    expect(() => declaredPermissions({ 'id-tokens': 'write' }, 'w')).toThrow(
      'unknown permission scope "id-tokens"',
    );
    expect(() => declaredPermissions({ 'id-token': 'admin' }, 'w')).toThrow('must be read, write or none');
    expect(() => declaredPermissions('all', 'w')).toThrow('read-all, write-all or a map');
  });
});
