/** The verify report as tables for the job summary, and its one-line verdict. */
import { formatDuration } from '../time.js';
import { shortTaskDefinition } from '../ecs/taskdef.js';
import type { VerifyReport } from '../contracts/verify-report.js';

export type Cell = string | { data: string; header: true };

const header = (...names: string[]): Cell[] => names.map((data) => ({ data, header: true as const }));

/**
 * Service / revision / target group / healthy / draining / other targets / OK.
 * No cell is empty: the summary's table writer renders an empty cell as an unclosed tag.
 */
export function targetTable(report: VerifyReport): Cell[][] {
  const rows: Cell[][] = [
    header('Service', 'Revision', 'Target group', 'Healthy', 'Draining', 'Other targets', 'OK'),
  ];
  for (const s of report.services) {
    const revision = shortTaskDefinition(s.newTaskDefinition);
    if (s.targetGroups.length === 0) {
      rows.push([
        s.service,
        revision,
        '(none)',
        `${s.runningTasks.new}/${s.desiredCount} tasks`,
        '-',
        s.runningTasks.old ? `${s.runningTasks.old} tasks of other revisions` : '-',
        s.ok ? '✅' : '❌',
      ]);
    }
    for (const tg of s.targetGroups) {
      const draining = tg.targets.filter((t) => t.verdict === 'draining').length;
      const others = tg.targets
        .filter((t) => t.verdict !== 'serving' && t.verdict !== 'draining')
        .map(
          (t) => `${t.id}:${t.port} ${t.state}${t.reason ? ` (${t.reason})` : ''} ${t.revision ?? 'no task'}`,
        );
      rows.push([
        s.service,
        revision,
        tg.targetGroupName,
        `${tg.healthy}/${tg.desired}`,
        String(draining),
        others.join('<br>') || '-',
        tg.ok ? '✅' : '❌',
      ]);
    }
  }
  return rows;
}

/** `traffic: test`: per service, the green revision, its deployment and stage, and the test listener rule's share. */
export function testTrafficTable(report: VerifyReport): Cell[][] {
  const rows: Cell[][] = [
    header(
      'Service',
      'Green revision',
      'Service deployment',
      'Stage',
      'Test traffic to green',
      'Test listener',
    ),
  ];
  for (const s of report.services) {
    const t = s.testTraffic;
    if (!t) {
      rows.push([s.service, '(none)', '-', '-', '-', '-']);
      continue;
    }
    rows.push([
      s.service,
      shortTaskDefinition(t.taskDefinition),
      `${t.serviceDeploymentArn.split('/').at(-1)} (${t.deploymentStatus ?? '?'})`,
      t.lifecycleStage ?? '-',
      `${t.testWeightPercent}%`,
      t.testListenerArn.split('/').slice(-2).join('/'),
    ]);
  }
  return rows;
}

export function checkTable(report: VerifyReport): Cell[][] {
  const rows: Cell[][] = [header('Check', 'Status', 'Latency (last / max)', 'Passes', 'OK')];
  for (const c of report.checks) {
    rows.push([
      escapeCell(c.check),
      c.status === undefined ? '-' : String(c.status),
      c.latencyMs === undefined ? '-' : `${c.latencyMs} / ${c.maxLatencyMs} ms`,
      `${c.passes}/${c.required} (${c.attempts} tries)`,
      c.ok ? '✅' : '❌',
    ]);
  }
  return rows;
}

export function verdict(report: VerifyReport): string {
  const tgs = report.services.flatMap((s) => s.targetGroups);
  const what = `${report.services.length} services${report.traffic === 'test' ? ' (green, test traffic)' : ''}, ${tgs.length} target groups, ${report.checks.length} HTTP checks`;
  return report.status === 'passed'
    ? `Verified ${what} in ${formatDuration(report.durationMs)}`
    : `Verification failed (${what}) after ${formatDuration(report.durationMs)}`;
}

function escapeCell(text: string): string {
  return text.replace(/[<>&|]/g, (c) => `&#${c.charCodeAt(0)};`);
}
