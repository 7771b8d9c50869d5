/**
 * Wire formats of the two AWS protocols the simulator speaks.
 * - JSON 1.1 (ECS, ECR, CloudWatch Logs): timestamps are epoch seconds.
 *   https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html
 * - Query (ELBv2, CloudFormation): form-encoded requests, lists as
 *   `Name.member.N`, XML replies `<OpResponse><OpResult>…`, timestamps ISO 8601.
 *   https://smithy.io/2.0/aws/protocols/aws-query-protocol.html
 */

/** JSON 1.1 body: Dates become epoch seconds (with milliseconds as the fraction). */
export function toJsonBody(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const raw = this[key];
    return raw instanceof Date ? raw.getTime() / 1000 : v;
  });
}

type Tree = { [key: string]: Tree | string };

/** Parses a Query request body into nested objects; `X.member.N` becomes an array. */
export function parseQuery(body: string): Record<string, unknown> {
  const root: Tree = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.split('.');
    let node: Tree = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        node[part] = value;
      } else {
        if (typeof node[part] !== 'object') node[part] = {};
        node = node[part] as Tree;
      }
    });
  }
  return normalize(root) as Record<string, unknown>;
}

function normalize(value: Tree | string): unknown {
  if (typeof value === 'string') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'member' && typeof value.member === 'object') {
    const members = value.member as Tree;
    return Object.keys(members)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => normalize(members[k]));
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) out[key] = normalize(value[key]);
  return out;
}

function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** One XML element: arrays as `<member>` lists, objects as nested elements. */
export function toXml(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return `<${name}>${value.map((v) => toXml('member', v)).join('')}</${name}>`;
  if (value instanceof Date) return `<${name}>${value.toISOString()}</${name}>`;
  if (typeof value === 'object') {
    const inner = Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => toXml(k, v))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function queryResponse(
  operation: string,
  namespace: string,
  result: unknown,
  requestId: string,
): string {
  const inner =
    result && typeof result === 'object'
      ? Object.entries(result as Record<string, unknown>)
          .map(([k, v]) => toXml(k, v))
          .join('')
      : '';
  return (
    `<${operation}Response xmlns="${namespace}"><${operation}Result>${inner}</${operation}Result>` +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`
  );
}

export function queryError(
  namespace: string,
  code: string,
  message: string,
  requestId: string,
  status: number,
): string {
  const type = status >= 500 ? 'Receiver' : 'Sender';
  return (
    `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${escapeXml(code)}</Code>` +
    `<Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}
