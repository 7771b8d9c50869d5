/** Types of index.mjs (the hook ships as plain JavaScript: no build step in the asset). */
export interface HookAnswer {
  hookStatus: 'SUCCEEDED' | 'FAILED' | 'IN_PROGRESS';
  callBackDelay?: number;
  reason?: string;
}
export interface HookEvent {
  executionId?: string;
  lifecycleStage?: string;
  resourceArn?: string;
  executionDetails?: {
    serviceArn?: string;
    targetServiceRevisionArn?: string;
    testTrafficWeights?: Record<string, number>;
    productionTrafficWeights?: Record<string, number>;
  };
  hookDetails?: unknown;
}
export function decide(
  gateText: string | undefined,
  revisionArn: string | undefined,
  callBackDelay: number,
): HookAnswer;
export function createHandler(options: {
  readGate: (name: string) => Promise<string | undefined>;
  environment?: Record<string, string | undefined>;
  log?: (line: string) => void;
}): (event: HookEvent) => Promise<Omit<HookAnswer, 'reason'>>;
export const handler: (event: HookEvent) => Promise<Omit<HookAnswer, 'reason'>>;
