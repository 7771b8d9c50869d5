/**
 * Where ECS stands, read from the simulator's state (ground truth, not an
 * action's word): each service's PRIMARY revision and whether it settled. Used
 * by both sections of the deploy benchmark (bench/deploy.ts).
 */
import type { Sim } from '../../sim/index.js';

export interface ServiceState {
  name: string;
  taskDefinition: string;
  steady: boolean;
  deployments: { id: string; status: string; rolloutState?: string }[];
}

export function serviceStates(sim: Sim, cluster: string): Map<string, ServiceState> {
  const state = sim.state() as { clusters: { name: string; services: ServiceState[] }[] };
  const found = state.clusters.find((c) => c.name === cluster);
  return new Map((found?.services ?? []).map((s) => [s.name, s]));
}

/** Waits (at most `timeoutMs` real) until ECS has settled every one of `services`: one deployment, steady. */
export async function settled(
  sim: Sim,
  cluster: string,
  services: string[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const all = [...serviceStates(sim, cluster).values()].filter((s) => services.includes(s.name));
    if (all.length === services.length && all.every((s) => s.steady && s.deployments.length === 1)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  const where = [...serviceStates(sim, cluster).values()]
    .filter((s) => services.includes(s.name))
    .map(
      (s) =>
        `${s.name} on ${s.taskDefinition.split('/').pop()}, ${s.steady ? 'steady' : 'not steady'}, deployments: ${s.deployments.map((d) => `${d.status}${d.rolloutState ? ` ${d.rolloutState}` : ''}`).join(', ')}`,
    );
  throw new Error(`the services did not settle: ${where.join('; ')}`);
}
