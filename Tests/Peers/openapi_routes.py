#!/usr/bin/env python3
"""Prints the operations of an OpenAPI file, one `METHOD /path/{param}` a line, sorted; with
--patterns, the `pattern` of each named component schema instead, one `NAME PATTERN` a line.

Used by Tests/UnibusControlPlaneTests/OpenAPISpecTests.swift to compare docs/openapi.yaml with
the router and the validators. Needs PyYAML (a dependency of schemathesis, in the project venv).

Usage: openapi_routes.py SPEC.yaml [--patterns]
"""
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def main():
    with open(sys.argv[1]) as f:
        spec = yaml.safe_load(f)
    if sys.argv[2:] == ["--patterns"]:
        for name, schema in sorted(spec["components"]["schemas"].items()):
            if "pattern" in schema:
                print(name, schema["pattern"])
        return
    for path, item in sorted(spec["paths"].items()):
        for method in sorted(m for m in item if m in METHODS):
            print(f"{method.upper()} {path}")


if __name__ == "__main__":
    main()
