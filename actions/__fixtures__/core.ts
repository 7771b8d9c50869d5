/** ESM mock of @actions/core: use with jest.unstable_mockModule('@actions/core', () => core). */
import { jest } from '@jest/globals';
import type * as Core from '@actions/core';

const summaryText: string[] = [];
const summary = {
  addHeading: jest.fn((text: string, _level?: number | string) => (summaryText.push(`# ${text}`), summary)),
  addRaw: jest.fn((text: string, _addEOL?: boolean) => (summaryText.push(text), summary)),
  addTable: jest.fn((rows: unknown[]) => (summaryText.push(JSON.stringify(rows)), summary)),
  addDetails: jest.fn(
    (label: string, content: string) => (summaryText.push(`${label}: ${content}`), summary),
  ),
  addList: jest.fn((items: string[]) => (summaryText.push(items.join('\n')), summary)),
  addEOL: jest.fn(() => summary),
  addLink: jest.fn((text: string) => (summaryText.push(text), summary)),
  addCodeBlock: jest.fn((code: string) => (summaryText.push(code), summary)),
  write: jest.fn(async () => summary),
  stringify: jest.fn(() => summaryText.join('\n')),
  emptyBuffer: jest.fn(() => (summaryText.splice(0), summary)),
};

export const ExitCode = { Success: 0, Failure: 1 } as const satisfies Record<
  keyof typeof Core.ExitCode,
  number
>;
export const debug = jest.fn<typeof Core.debug>();
export const info = jest.fn<typeof Core.info>();
export const warning = jest.fn<typeof Core.warning>();
export const error = jest.fn<typeof Core.error>();
export const notice = jest.fn<typeof Core.notice>();
export const getInput = jest.fn<typeof Core.getInput>();
export const getBooleanInput = jest.fn<typeof Core.getBooleanInput>();
export const getMultilineInput = jest.fn<typeof Core.getMultilineInput>();
export const setOutput = jest.fn<typeof Core.setOutput>();
export const setFailed = jest.fn<typeof Core.setFailed>();
export const setSecret = jest.fn<typeof Core.setSecret>();
export const saveState = jest.fn<typeof Core.saveState>();
export const getState = jest.fn<typeof Core.getState>();
export const exportVariable = jest.fn<typeof Core.exportVariable>();
export const startGroup = jest.fn<typeof Core.startGroup>();
export const endGroup = jest.fn<typeof Core.endGroup>();
export const group = jest.fn(async <T>(_name: string, fn: () => Promise<T>) => fn());
export { summary };
