# jinn: build, demo, tests, benchmark. Containers need root: run `make demo`,
# `make test` and `make bench` as root (sudo).

CARGO ?= cargo
RUNC ?= $(shell command -v runc 2>/dev/null)

.PHONY: all build demo test test-runc lint fmt bench clean

all: build

# The release jinn is linked statically (glibc static-pie): no dynamic loader, no
# shared-library relocations, a third less memory per invocation. --target keeps
# the static flag away from build scripts and proc-macros.
HOST_TARGET ?= x86_64-unknown-linux-gnu

## build: release build; ./target/release/jinn is the static binary
build:
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release -p jinn --target $(HOST_TARGET)
	install -D -m 755 target/$(HOST_TARGET)/release/jinn target/release/jinn

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
