// Checks the web UI's import graph: no cycle anywhere under src/, and no page imports
// the shell (main.js) or another page. build.mjs runs it on every build; by hand:
//
//   node check-imports.mjs        (exits 1 and names the cycle or the import)

import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Every module under `dir` → the relative modules it imports (static and dynamic). */
export function importGraph(dir = join(here, 'src')) {
  const graph = new Map();
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) {
        const text = readFileSync(p, 'utf8');
        const deps = [];
        for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
          const spec = m[1] || m[2] || m[3];
          if (spec.startsWith('.') && spec.endsWith('.js')) deps.push(relative(dir, resolve(dirname(p), spec)));
        }
        graph.set(relative(dir, p), deps);
      }
    }
  };
  walk(dir);
  return graph;
}

/** The first import cycle found, as a list of modules (first = last), or null. */
export function findCycle(graph) {
  const state = new Map(); // module → 1 while on the stack, 2 when done
  const stack = [];
  const visit = (m) => {
    if (state.get(m) === 2) return null;
    if (state.get(m) === 1) return [...stack.slice(stack.indexOf(m)), m];
    state.set(m, 1);
    stack.push(m);
    for (const d of graph.get(m) || []) {
      const c = visit(d);
      if (c) return c;
    }
    stack.pop();
    state.set(m, 2);
    return null;
  };
  for (const m of graph.keys()) {
    const c = visit(m);
    if (c) return c;
  }
  return null;
}

/** Imports a page must not make: the shell, or another page. */
export function layeringErrors(graph) {
  const errors = [];
  for (const [m, deps] of graph) {
    if (!m.startsWith('pages/')) continue;
    for (const d of deps) {
      if (d === 'main.js' || d.startsWith('pages/')) errors.push(`${m} imports ${d}`);
    }
  }
  return errors;
}

/** Throws with a readable message when the graph has a cycle or a bad import. */
export function checkImports(graph = importGraph()) {
  const cycle = findCycle(graph);
  if (cycle) throw new Error(`import cycle in web/src: ${cycle.join(' → ')}`);
  const bad = layeringErrors(graph);
  if (bad.length) throw new Error(`pages must import neither the shell nor each other: ${bad.join('; ')}`);
  return graph.size;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    console.log(`web/src: ${checkImports()} modules, no import cycle`);
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
