#!/usr/bin/env python3
"""Package.swift and the code agree: every module a target imports is one of its declared
dependencies, and every declared dependency is imported by that target. Run by scripts/test.sh
(and `make lint`); exits 1 with one line per mismatch."""
import json, pathlib, re, subprocess, sys

# Modules of the toolchain itself, never declared in Package.swift.
TOOLCHAIN = {"Foundation", "FoundationEssentials", "Glibc", "Dispatch", "Testing", "XCTest", "Synchronization", "CoreFoundation"}
IMPORT = re.compile(r"^\s*(?:@testable\s+|@preconcurrency\s+|(?:public|package|internal|private|fileprivate)\s+)*import\s+(?:(?:struct|class|enum|func|var|let)\s+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*(?://.*)?$", re.M)

root = pathlib.Path(__file__).resolve().parent.parent
package = json.loads(subprocess.run(["swift", "package", "dump-package"], cwd=root, check=True, capture_output=True, text=True).stdout)
problems = []
for target in package["targets"]:
    if target["type"] == "system":
        continue
    declared = {list(d.values())[0][0] for d in target.get("dependencies", [])}
    folder = target.get("path") or ("Tests/" if target["type"] == "test" else "Sources/") + target["name"]
    imported = set()
    for source in (root / folder).rglob("*.swift"):
        imported |= set(IMPORT.findall(source.read_text()))
    imported -= TOOLCHAIN
    for module in sorted(imported - declared):
        problems.append(f"{target['name']} imports {module} but Package.swift does not declare it")
    for module in sorted(declared - imported):
        problems.append(f"{target['name']} declares {module} in Package.swift but never imports it")
for line in problems:
    print(f"error: {line}", file=sys.stderr)
sys.exit(1 if problems else 0)
