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

## test: lint, build, unit and integration tests, the cgroup v2 and systemd tests in a
## VM, the conformance suite, and containerd and Podman driving jinn (as root)
test: lint
	$(CARGO) build --workspace
	$(CARGO) test --workspace --no-fail-fast
	$(MAKE) test-cgroupv2
	$(MAKE) test-systemd
	$(MAKE) conformance
	$(MAKE) test-clients

V2_BENCH_ITERATIONS ?= 15

## test-runc: the integration tests against runc (checks the tests themselves)
test-runc:
	JINN_RUNTIME=$(RUNC) $(CARGO) test -p jinn --tests

## test-cgroupv2: the cgroup v2 tests in a throw-away pure-v2 QEMU VM (here on a pure
## v2 host); V2_RUNTIMES="jinn runc" also runs them against runc in the same boot
.PHONY: test-cgroupv2
test-cgroupv2:
	CARGO="$(CARGO)" scripts/test-cgroupv2.sh

## test-systemd: the systemd cgroup driver (--systemd-cgroup) with a real systemd, in a
## throw-away VM, on pure v2 and on systemd's hybrid layout, plus rootless against a user
## manager on v2 (scripts/test-systemd.sh, ~1.5 min); SD_RUNTIMES="jinn runc" adds runc,
## SD_LAYOUTS="v2" only one layout
.PHONY: test-systemd
test-systemd:
	CARGO="$(CARGO)" scripts/test-systemd.sh

fmt:
	$(CARGO) fmt --all

## bench: lifecycle benchmark of jinn against runc and crun (as root), on this host and
## on pure cgroup v2 (the VM of ../shared/vm unless this host is pure v2)
bench: build
	python3 scripts/bench.py
	scripts/bench-cgroupv2.sh -n $(V2_BENCH_ITERATIONS)

## bench-cgroupv2: only the pure cgroup v2 half of `make bench`
.PHONY: bench-cgroupv2
bench-cgroupv2: build
	scripts/bench-cgroupv2.sh -n $(V2_BENCH_ITERATIONS)

clean:
	$(CARGO) clean
	rm -rf demo

## conformance: the OCI conformance suite (runtime-tools-conformance, docs/conformance.md)
## against ./target/debug/jinn and, when installed, runc and crun (as root)
.PHONY: conformance
CONF_TARGET_DIR = $(or $(CARGO_TARGET_DIR),target)
CONF_CHECKER = $(CONF_TARGET_DIR)/x86_64-unknown-linux-gnu/release/conformance-checker
CONF_DRIVER = $(CONF_TARGET_DIR)/debug/runtime-tools-conformance
conformance:
	$(CARGO) build -p jinn -p runtime-tools-conformance
	RUSTFLAGS="-C target-feature=+crt-static" $(CARGO) build --release --target x86_64-unknown-linux-gnu -p conformance-checker
	@status=0; for rt in $(foreach r,runc crun,$(shell command -v $(r) 2>/dev/null)) $(CONF_TARGET_DIR)/debug/jinn; do \
		echo "=== conformance: $$rt"; \
		$(CONF_DRIVER) --checker $(CONF_CHECKER) --runtime $$rt $(if $(FILTER),--filter $(FILTER)) > $(CONF_TARGET_DIR)/conformance-$$(basename $$rt).tap 2>&1; \
		rc=$$?; grep -E '^not ok|^#   ' $(CONF_TARGET_DIR)/conformance-$$(basename $$rt).tap; \
		echo "$$rt: $$(tail -n 1 $(CONF_TARGET_DIR)/conformance-$$(basename $$rt).tap)  (TAP: $(CONF_TARGET_DIR)/conformance-$$(basename $$rt).tap)"; \
		case $$rt in *jinn) status=$$rc;; esac; \
	done; exit $$status

## test-clients: containerd (through ctr) and Podman (with conmon) drive jinn: every
## step of scripts/test-clients.sh, as root; installs containerd/podman/conmon when
## missing and skips when it cannot. RUNTIME=/usr/sbin/runc runs the same steps on runc.
.PHONY: test-clients
test-clients:
	$(if $(RUNTIME),,$(CARGO) build -p jinn)
	scripts/test-clients.sh
