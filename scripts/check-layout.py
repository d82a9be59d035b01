#!/usr/bin/env python3
"""The layout rules of src/ (README "How it is built"), checked from the source text:
no import cycle between modules, no module importing from one above it in lib.rs's
order (the flow engine → media → api), no .rs file over 700 lines.

A module's imports are the `crate::`, `super::` and `self::` paths in its code outside
`#[cfg(test)]`, resolved through `pub use` re-exports to the module that defines the
item. (cargo-modules' `dependencies --acyclic` works on items, and counts a type and its
own `Default::default` as a cycle, so it cannot judge modules.) Exit status 1 on any
finding."""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else "src"
MAX_LINES = 700


def module_files(root):
    mods = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.endswith(".rs"):
                continue
            path = os.path.join(dirpath, f)
            name = os.path.relpath(path, root)[:-3].split("/")
            if name[-1] in ("mod", "lib"):
                name = name[:-1]
            if name == ["main"]:
                continue
            mods[tuple(name)] = path
    return mods


def code(path):
    text = open(path, encoding="utf-8").read()
    cut = text.find("#[cfg(test)]")
    text = text[:cut] if cut >= 0 else text
    return re.sub(r"//[^\n]*", "", text)


def absolute(module, is_dir_module, base, rest):
    if base == "crate":
        start = []
    elif base == "self":
        start = list(module)
    else:  # super
        start = list(module[:-1])
    while rest and rest[0] == "super":
        start, rest = start[:-1], rest[1:]
    return start + rest


mods = module_files(ROOT)
sources = {m: code(p) for m, p in mods.items()}

# `pub use a::b::{C, D}` re-exports: (module, name) → the path it names.
reexports = {}
for m, src in sources.items():
    for u in re.finditer(r"pub(?:\([a-z]+\))? use ([\w:]+?)(?:::\{([^}]*)\}|::(\w+))\s*;", src, re.S):
        parts = u.group(1).split("::")
        if parts[0] in ("crate", "super", "self"):
            target = absolute(m, mods[m].endswith("mod.rs"), parts[0], parts[1:])
        else:
            target = list(m) + parts
        names = [u.group(3)] if u.group(3) else [x.strip().split(" as ")[-1] for x in u.group(2).split(",")]
        for n in filter(None, names):
            reexports[(m, n)] = tuple(target)


def resolve(path, depth=0):
    """The module that defines what `path` names."""
    for k in range(len(path), 0, -1):
        mod = tuple(path[:k])
        if mod not in mods:
            continue
        if k < len(path) and (mod, path[k]) in reexports and depth < 10:
            return resolve(list(reexports[(mod, path[k])]), depth + 1) or mod
        return mod
    return None


edges = {m: set() for m in mods}
for m, src in sources.items():
    for u in re.finditer(r"\b(crate|super|self)((?:::\w+)+)(::\{([^{}]*)\})?", src):
        rest = [x for x in u.group(2).split("::") if x]
        base = absolute(m, mods[m].endswith("mod.rs"), u.group(1), rest)
        paths = [base]
        if u.group(4) is not None:
            paths = []
            for item in u.group(4).split(","):
                item = item.strip().split(" as ")[0]
                if item == "self":
                    paths.append(base)
                elif item:
                    paths.append(base + item.split("::"))
        for p in paths:
            t = resolve(p)
            if t is not None and t != m:
                edges[m].add(t)
    # A child named by a bare path (`child::item`) from its parent.
    for child in (k for k in mods if len(k) == len(m) + 1 and k[: len(m)] == m):
        if re.search(r"(?<![:\w])" + child[-1] + r"::", src):
            edges[m].add(child)

# Cycles: strongly connected components of more than one module (Tarjan).
index, low, stack, on_stack, cycles = {}, {}, [], set(), []
sys.setrecursionlimit(10000)


def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on_stack:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on_stack.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            cycles.append(comp)


for v in edges:
    if v not in index:
        visit(v)

order = re.findall(r"^pub mod (\w+);", open(os.path.join(ROOT, "lib.rs")).read(), re.M)
upward = sorted(
    ("::".join(m), "::".join(t))
    for m, ts in edges.items()
    for t in ts
    if m and t and m[0] in order and t[0] in order and order.index(t[0]) < order.index(m[0])
)
long_files = sorted(
    (p, n) for p in mods.values() if (n := sum(1 for _ in open(p, encoding="utf-8"))) > MAX_LINES
)

for comp in cycles:
    print("import cycle among:", ", ".join("::".join(x) for x in sorted(comp)))
for a, b in upward:
    print(f"upward import: {a} uses {b}, which is above it in lib.rs")
for p, n in long_files:
    print(f"{p}: {n} lines (at most {MAX_LINES})")
print(f"{len(mods)} modules: {len(cycles)} import cycles, {len(upward)} upward imports, {len(long_files)} files over {MAX_LINES} lines")
sys.exit(1 if cycles or upward or long_files else 0)
