import { describe, expect, it } from '@jest/globals';
import type { Task } from '@aws-sdk/client-ecs';
import { judgeTasks } from '../../../lib/migrate/judge.js';

const arn = (id: string) => `arn:aws:ecs:us-east-1:123456789012:task/c/${id}`;

function stopped(id: string, containers: Task['containers'], stopCode = 'EssentialContainerExited'): Task {
  return {
    taskArn: arn(id),
    lastStatus: 'STOPPED',
    stopCode: stopCode as Task['stopCode'],
    stoppedReason: 'Essential container in task exited',
    containers,
  };
}

describe('judgeTasks', () => {
  it('succeeds only when every essential container of every task exits 0', () => {
    const ok = judgeTasks(
      [stopped('t1', [{ name: 'app', exitCode: 0 }]), stopped('t2', [{ name: 'app', exitCode: 0 }])],
      { app: true },
    );
    expect(ok.ok).toBe(true);
    expect(ok.failures).toEqual([]);

    // The second task and the second essential container count too, not only the first.
    const secondTask = judgeTasks(
      [stopped('t1', [{ name: 'app', exitCode: 0 }]), stopped('t2', [{ name: 'app', exitCode: 3 }])],
      { app: true },
    );
    expect(secondTask.ok).toBe(false);
    expect(secondTask.failures).toEqual(['container app exited with code 3 (task t2)']);

    const secondContainer = judgeTasks(
      [
        stopped('t1', [
          { name: 'app', exitCode: 0 },
          { name: 'worker', exitCode: 1, reason: 'OOM' },
        ]),
      ],
      { app: true, worker: true },
    );
    expect(secondContainer.failures).toEqual(['container worker exited with code 1: OOM']);
  });

  it('treats a container with no essential flag as essential (the ECS default)', () => {
    const j = judgeTasks([stopped('t1', [{ name: 'app', exitCode: 2 }])], {});
    expect(j.ok).toBe(false);
  });

  it('warns, without failing, when a non-essential sidecar fails', () => {
    const j = judgeTasks(
      [
        stopped('t1', [
          { name: 'app', exitCode: 0 },
          { name: 'xray', exitCode: 137, reason: 'killed' },
        ]),
      ],
      { app: true, xray: false },
    );
    expect(j.ok).toBe(true);
    expect(j.warnings).toEqual(['non-essential container xray exited with code 137: killed']);
    expect(j.containers.map((c) => [c.name, c.essential, c.exitCode])).toEqual([
      ['app', true, 0],
      ['xray', false, 137],
    ]);
  });

  it('judges the migration container whatever its essential flag; other non-essential containers only warn', () => {
    const task = stopped('t1', [
      { name: 'proxy', exitCode: 0 },
      { name: 'migrations', exitCode: 1, reason: 'relation exists' },
      { name: 'xray', exitCode: 2 },
    ]);
    const j = judgeTasks([task], { proxy: true, migrations: false, xray: false }, 'migrations');
    expect(j.ok).toBe(false);
    expect(j.failures).toEqual(['container migrations exited with code 1: relation exists']);
    expect(j.warnings).toEqual(['non-essential container xray exited with code 2']);
    expect(j.containers.map((c) => [c.name, c.essential, c.migration])).toEqual([
      ['proxy', true, false],
      ['migrations', false, true],
      ['xray', false, false],
    ]);
  });

  it('fails a task that never started, with the pull error', () => {
    const task = stopped(
      't1',
      [{ name: 'app', reason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)' }],
      'TaskFailedToStart',
    );
    task.stoppedReason = 'CannotPullContainerError: pull image manifest has been retried 5 time(s)';
    const j = judgeTasks([task], { app: true });
    expect(j.ok).toBe(false);
    expect(j.failures.join('\n')).toContain('TaskFailedToStart: CannotPullContainerError');
    expect(j.failures.join('\n')).toContain('container app has no exit code');
  });

  it('fails a task stopped from outside even when its container exited 0', () => {
    const task = stopped('t1', [{ name: 'app', exitCode: 0 }], 'UserInitiated');
    task.stoppedReason = 'Stopped by someone';
    const j = judgeTasks([task], { app: true });
    expect(j.ok).toBe(false);
    expect(j.failures).toEqual(['task t1 stopped with UserInitiated: Stopped by someone']);
  });

  it('fails a task that has not stopped, and an empty list', () => {
    expect(
      judgeTasks([{ taskArn: arn('t1'), lastStatus: 'RUNNING', containers: [{ name: 'app' }] }], {}).ok,
    ).toBe(false);
    expect(judgeTasks([], {}).failures).toEqual(['no task to judge']);
  });
});
