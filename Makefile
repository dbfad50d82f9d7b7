# minnow — the commands a newcomer needs.
#   make run         start the server on the embedded default (./data/drive1..4)
#   make test        every test: unit, property, crash, end-to-end (what CI runs)
#   make bench       the full benchmark matrix against the raw-disk / HTTP-floor baselines
#   make bench-quick a two-minute subset
#   make lint        cargo fmt --check + clippy -D warnings
#   make fuzz-smoke  the parser robustness properties with many more cases (about a minute)

CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run build release test lint fmt fuzz-smoke bench bench-quick

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release -p minnow --bin minnow

run: release
	./target/release/minnow server --address 127.0.0.1:9000 --console-address 127.0.0.1:9001

# Every step runs even when an earlier one failed (the end-to-end tests need
# the binary, the crash-point tests do not); the target fails at the end if
# any step did. The named crash points exist only with store's test-util
# feature, hence the separate last step.
test:
	failed=0; \
	$(CARGO) build -p minnow --bin minnow || failed=1; \
	$(CARGO) test --workspace --no-fail-fast || failed=1; \
	$(CARGO) test -p store --features test-util --test crash_during_writes || failed=1; \
	if [ $$failed -ne 0 ]; then echo "make test: a step above failed" >&2; fi; \
	exit $$failed

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

fuzz-smoke:
	PROPTEST_CASES=$${PROPTEST_CASES:-20000} $(CARGO) test -p s3-api --lib fuzz_tests

bench:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || apt-get install -y nginx-light
	$(CARGO) build --release -p minnow --bin minnow
	$(CARGO) build --release -p minnow-benches --bin minnow-bench
	./target/release/minnow-bench matrix --full

bench-quick:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || apt-get install -y nginx-light
	$(CARGO) build --release -p minnow --bin minnow
	$(CARGO) build --release -p minnow-benches --bin minnow-bench
	./target/release/minnow-bench matrix --quick

# make chaos MINUTES=N: the seeded chaos campaign (SIGKILL, wiped drives, bit flips, restarts and
# full heals under client load, checked against a model of acknowledged writes) for N minutes;
# prints the seed, rounds, faults by kind, checks and violations. MINNOW_CHAOS_SEED=S replays.
# Drive faults (EIO, ENOSPC, torn writes, latency, hangs) need `minnow-faulty`, the build with
# the fault-injection feature; only this target builds it. `make test` runs the deterministic
# chaos tests and the hot-copy backup tests; the campaign is ignored there.
MINUTES ?= 10
.PHONY: chaos
chaos:
	$(CARGO) build --bin minnow
	$(CARGO) build -p minnow --features fault-injection --bin minnow-faulty
	MINNOW_CHAOS_MINUTES=$(MINUTES) $(CARGO) test -p conformance --test chaos -- --nocapture --include-ignored --exact campaign::campaign
	MINNOW_CHAOS_MINUTES=$(MINUTES) $(CARGO) test -p conformance --test chaos -- --nocapture --include-ignored --exact backup::hot_tar_backup_is_consistent_after_heal
