#!/usr/bin/env node
/**
 * Fails when a `run:` script interpolates data into shell source: an
 * expression `${{ }}` reading steps.<id>.outputs, needs.<id>.outputs, inputs
 * or github.event inside a run: of a workflow, a composite action, or a YAML
 * example in the documentation. GitHub substitutes the expression's text into
 * the script before the shell parses it, so a quote in the value breaks the
 * step and a crafted value runs as code. The fix: pass the value through
 * `env:` and use "$VAR" (e.g. `jq . <<<"$DEPLOYMENTS"`).
 *
 * Scanned: .github/workflows/*.yml, every other workflow or action.yml under
 * the repository (fixtures, examples), and ```yaml blocks of every *.md.
 * Usage: node scripts/check-shell-interpolation.mjs [root]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const SKIP = new Set(['node_modules', '.git', 'dist', 'cdk.out', 'coverage']);
const DATA = /\b(?:steps\.[\w-]+\.outputs|needs\.[\w-]+\.outputs|inputs\b|github\.event\b)/;

function* files(dir) {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

/** The `run:` scripts of YAML lines, each with the line it starts on (1-based, relative to `lines`). */
function runScripts(lines) {
  const scripts = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^(\s*(?:-\s+)?)run:\s*(.*)$/.exec(lines[i]);
    if (!match) continue;
    const column = match[1].length;
    const value = match[2];
    if (/^[|>][-+0-9]*\s*(#.*)?$/.test(value)) {
      const body = [];
      let j = i + 1;
      for (; j < lines.length; j++) {
        const line = lines[j];
        if (line.trim() === '' || line.search(/\S/) > column) body.push({ text: line, line: j + 1 });
        else break;
      }
      scripts.push(...body);
      i = j - 1;
    } else {
      scripts.push({ text: value, line: i + 1 });
    }
  }
  return scripts;
}

function findings(path, lines, offset = 0) {
  const out = [];
  for (const { text, line } of runScripts(lines)) {
    for (const [, expression] of text.matchAll(/\$\{\{(.*?)\}\}/g)) {
      if (DATA.test(expression))
        out.push(
          `${relative(root, path)}:${line + offset}: run: interpolates \${{${expression}}} into shell source. Fix: pass it through env: and use "$VAR"`,
        );
    }
  }
  return out;
}

const problems = [];
for (const path of files(root)) {
  const rel = relative(root, path);
  if (
    /\.ya?ml$/.test(path) &&
    (/(^|\/)\.github\/workflows\//.test(rel) || /(^|\/)action\.ya?ml$/.test(rel))
  ) {
    problems.push(...findings(path, readFileSync(path, 'utf8').split('\n')));
  } else if (path.endsWith('.md')) {
    const lines = readFileSync(path, 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^\s*```ya?ml\b/.test(lines[i])) continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
      problems.push(...findings(path, lines.slice(start, end), start));
      i = end;
    }
  }
}

if (problems.length) {
  console.error(problems.join('\n'));
  console.error(`\n${problems.length} run: script(s) interpolate data into shell source.`);
  process.exit(1);
}
console.log('check-shell-interpolation: no run: script interpolates outputs, inputs or event data');
