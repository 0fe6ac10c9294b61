# jinn: build, demo, tests, benchmark. Containers need root: run `make demo`,
# `make test` and `make bench` as root (sudo).

CARGO ?= cargo
RUNC ?= $(shell command -v runc 2>/dev/null)

.PHONY: all build demo test test-runc lint fmt bench clean

all: build

## build: release build of the whole workspace (./target/release/jinn)
build:
	$(CARGO) build --release --workspace

## demo: install dependencies, build, run a busybox container with jinn
demo:
	scripts/demo.sh

## lint: formatting and clippy, warnings are errors
lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## test: lint, build the binaries, then unit and integration tests (as root)
test: lint
	$(CARGO) build --workspace
	$(CARGO) test --workspace

## test-runc: the integration tests against runc (checks the tests themselves)
test-runc:
	JINN_RUNTIME=$(RUNC) $(CARGO) test -p jinn --tests

fmt:
	$(CARGO) fmt --all

## bench: lifecycle benchmark of jinn against runc and crun (as root)
bench: build
	python3 scripts/bench.py

clean:
	$(CARGO) clean
	rm -rf demo
