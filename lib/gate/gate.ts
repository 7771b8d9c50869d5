/**
 * The release gate's value: one SSM parameter that the POST_TEST_TRAFFIC_SHIFT
 * hook (infra/lambda/release-gate/index.mjs) reads for every blue/green,
 * linear or canary deployment of a release:
 *
 *   { "release": "<id>", "state": "pending" | "open" | "closed",
 *     "revisions": ["<target service revision ARN>", ...], "reason": "..." }
 *
 * pending holds the deployments (green on test traffic only), open lets the
 * listed revisions shift production, closed fails them (ECS shifts back).
 * Pure: building, checking and the ownership rules; lib/gate/write.ts writes it.
 */
import type { Deployments } from '../contracts/deployments.js';
import { InputError } from '../errors.js';

export const GATE_STATES = ['pending', 'open', 'closed'] as const;
export type GateState = (typeof GATE_STATES)[number];

export interface Gate {
  release: string;
  state: GateState;
  /** open: the target service revisions allowed to shift production. */
  revisions: string[];
  reason?: string;
}

/** The strategies whose deployments the hook holds (ECS shifts traffic between two target groups). */
const GATED_STRATEGIES = new Set(['BLUE_GREEN', 'LINEAR', 'CANARY']);

/** Standard-tier String parameters hold at most 4 KB. */
export const MAX_GATE_LENGTH = 4096;

const DEPLOYMENTS_FIX =
  "pass deploy-services' output of this release as is: `deployments: ${{ steps.deploy.outputs.deployments }}`";

/** `parameter`: an SSM parameter name (not an ARN), e.g. /alva-staging/release-gate. */
export function checkParameterName(raw: string): string {
  const fix =
    "give the parameter's name, e.g. /alva-staging/release-gate (infra's output ReleaseGateParameterName)";
  if (raw.startsWith('arn:')) throw new InputError('parameter', `"${raw}" is an ARN, not a name`, fix);
  if (!/^[A-Za-z0-9_.\-/]{1,1011}$/.test(raw))
    throw new InputError(
      'parameter',
      `"${raw}" is not an SSM parameter name (letters, digits and _ . - /)`,
      fix,
    );
  if (raw.includes('/') && !raw.startsWith('/'))
    throw new InputError('parameter', `"${raw}" has a path but does not start with "/"`, fix);
  return raw;
}

export function parseGateState(raw: string): GateState {
  if ((GATE_STATES as readonly string[]).includes(raw)) return raw as GateState;
  throw new InputError(
    'state',
    `"${raw}" is not a gate state`,
    'use pending (before deploying), open (after verify passed on test traffic) or closed (on failure or cancel)',
  );
}

/** A release id: what the hook's log and the gate's owner check name (default `<run id>-<run attempt>`). */
export function checkReleaseId(raw: string): string {
  if (!/^[A-Za-z0-9 _.:/=+@-]{1,256}$/.test(raw))
    throw new InputError(
      'release',
      `"${raw}" is not a release id (1 to 256 letters, digits, spaces and _ . : / = + @ -)`,
      'leave it out (default: ${{ github.run_id }}-${{ github.run_attempt }}) or give such an id',
    );
  return raw;
}

/**
 * The revisions `open` lets shift production: the target service revision of
 * every BLUE_GREEN, LINEAR or CANARY entry. Rolling and unchanged entries have
 * none. An entry that did not get to test traffic, or does not say its
 * revision, is an input error: opening the gate without it would leave it held.
 */
export function gatedRevisions(deployments: Deployments): string[] {
  const revisions: string[] = [];
  for (const [service, entry] of Object.entries(deployments)) {
    if (!entry.strategy || !GATED_STRATEGIES.has(entry.strategy)) continue;
    if (entry.status !== undefined && entry.status !== 'deployed')
      throw new InputError(
        'deployments',
        `${service} (${entry.strategy}) is "${entry.status}", not deployed to test traffic: the gate opens only for a release whose every service passed`,
        'open the gate only after deploy-services (wait-for: test-traffic) and verify (traffic: test) succeeded; close it otherwise',
      );
    if (typeof entry.serviceRevisionArn !== 'string' || !entry.serviceRevisionArn.startsWith('arn:'))
      throw new InputError(
        'deployments',
        `the entry for ${service} (${entry.strategy}) has no "serviceRevisionArn" (the revision the gate opens for)`,
        DEPLOYMENTS_FIX,
      );
    if (!revisions.includes(entry.serviceRevisionArn)) revisions.push(entry.serviceRevisionArn);
  }
  return revisions;
}

/** The value to write; refuses one too long for a String parameter before anything is written. */
export function gateText(gate: Gate): string {
  const text = JSON.stringify({
    release: gate.release,
    state: gate.state,
    revisions: gate.revisions,
    ...(gate.reason ? { reason: gate.reason } : {}),
  });
  if (text.length > MAX_GATE_LENGTH)
    throw new InputError(
      'deployments',
      `the gate would be ${text.length} characters, more than a standard SSM parameter holds (${MAX_GATE_LENGTH})`,
      'gate fewer services per release, or make the parameter an Advanced one',
    );
  return text;
}

/** The gate as read; undefined for a value the hook could not read either (it fails such a gate). */
export function parseGate(text: string | undefined): Partial<Gate> | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const o = value as Record<string, unknown>;
    return {
      ...(typeof o.release === 'string' ? { release: o.release } : {}),
      ...((GATE_STATES as readonly unknown[]).includes(o.state) ? { state: o.state as GateState } : {}),
      ...(Array.isArray(o.revisions)
        ? { revisions: o.revisions.filter((r): r is string => typeof r === 'string') }
        : {}),
      ...(typeof o.reason === 'string' ? { reason: o.reason } : {}),
    };
  } catch {
    return undefined;
  }
}

/** What to do with the gate as it is now: write, refuse (open), or leave it (closed). */
export type GateDecision =
  { kind: 'write'; note?: string } | { kind: 'refuse'; reason: string } | { kind: 'leave'; reason: string };

/**
 * The ownership rules: a release owns the gate from its `pending` write.
 * - pending always writes (a newer release takes the gate; the note says from whom);
 * - open writes only over this release's own gate: another release took it, or
 *   none ever wrote it, and opening would let revisions shift that this release did not verify;
 * - closed writes over an absent gate or this release's own; another release's is left
 *   alone (closing it would roll that release back).
 */
export function decideGateWrite(
  state: GateState,
  release: string,
  current: { exists: boolean; gate?: Partial<Gate> },
): GateDecision {
  const holder = current.gate?.release;
  const ours = holder === release;
  const describe = current.exists
    ? holder !== undefined
      ? `release ${holder} holds the gate (${current.gate?.state ?? 'unknown state'})`
      : 'the gate holds no release id (not JSON written by release-gate)'
    : 'the gate parameter does not exist';
  switch (state) {
    case 'pending':
      return current.exists && !ours && holder !== undefined
        ? { kind: 'write', note: `taking the gate from release ${holder} (${current.gate?.state ?? '?'})` }
        : { kind: 'write' };
    case 'open':
      if (ours) return { kind: 'write' };
      return {
        kind: 'refuse',
        reason: `${describe}, not this release (${release}): ${holder !== undefined && current.exists ? 'a newer run took it' : 'this release never wrote pending'}; the gate stays as it is`,
      };
    case 'closed':
      if (!current.exists || ours || holder === undefined) return { kind: 'write' };
      return {
        kind: 'leave',
        reason: `${describe}, not this release (${release}): left alone, closing it would roll that release back`,
      };
  }
}
