/**
 * The `deployments` JSON of deploy-services, read for one thing: per service,
 * which task-definition revision is the new one (and which it replaced).
 */

export interface ExpectedRevision {
  newTaskDefinitionArn: string;
  previousTaskDefinitionArn?: string;
}

/**
 * Parses deploy-services' shape, `{ "<service>": { "previousTaskDefinition": "<ARN>",
 * "taskDefinition": "<ARN>", ... } }`, where `taskDefinition` is what that run deployed.
 * Other fields (status, timings, …) are not needed here.
 * Throws an Error whose message says what is wrong; the caller names the input.
 */
export function parseDeployments(text: string): Map<string, ExpectedRevision> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`is not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(value)) throw new Error('must be a JSON object keyed by service name');
  const result = new Map<string, ExpectedRevision>();
  for (const [service, entry] of Object.entries(value)) {
    if (!isObject(entry)) throw new Error(`the entry for "${service}" is not an object`);
    const newArn = nonEmptyString(entry.taskDefinition);
    if (!newArn)
      throw new Error(`the entry for "${service}" has no "taskDefinition" (the revision deployed)`);
    const previous = nonEmptyString(entry.previousTaskDefinition);
    result.set(service, {
      newTaskDefinitionArn: newArn,
      ...(previous ? { previousTaskDefinitionArn: previous } : {}),
    });
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
