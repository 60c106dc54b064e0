# One path for people and CI: the README's commands and .ci/run call these targets.
SWIFT ?= swift

.PHONY: build test run certs bench lint format clean

build:
	$(SWIFT) build

## The whole test suite: unit, store behaviour, CLI-as-a-process and real nats-server tests.
test:
	scripts/test.sh

## Start the service on its single-node loopback default.
run: build
	$(SWIFT) run membershipd

certs:
	tls/generate-certs.sh

bench:
	scripts/bench.sh

lint:  ## swift-format --strict with .swift-format; Package.swift matches the imports
	$(SWIFT) format lint --strict -r Sources Tests
	scripts/check-imports.py

format:
	$(SWIFT) format format -i -r Sources Tests

clean:
	rm -rf .build
