# Token Factory: the two commands are `make run` and `make test` (README.md).
RELEASE_DIR := build/release
ASAN_DIR    := build/asan
JOBS        ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: run test build build-asan deps deps-test readme clean bench bench-smoke deps-bench bench-ledger \
        fuzz deps-fuzz ui node-check

## make run: install missing Debian packages, build Release and the console, start the gateway.
run: deps build ui
	@mkdir -p "$${DATA_DIR:-./data}"
	exec $(RELEASE_DIR)/token-factory

## make test: install packages, build with ASan+UBSan, run unit + integration tests.
test: deps-test build-asan
	python3 tests/run.py $(ASAN_DIR)

## make bench: nginx-light + wrk, Release build, then the benchmark against plain nginx;
## prints a table and writes tests/bench/RESULTS.md (about 5 minutes, bounded at 15).
bench: deps-bench build
	python3 tests/bench/run.py $(RELEASE_DIR)

## make bench-smoke: the same harness for a few seconds per figure, no target asserted
## (tests/integration/test_bench_smoke.py runs it inside `make test`).
bench-smoke: deps-bench build
	python3 tests/bench/run.py $(RELEASE_DIR) --smoke

## make bench-ledger: authorize+settle pairs/s against INCR round trips on the same
## Redis; writes tests/bench/LEDGER.md.
bench-ledger: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE_DIR) -j$(JOBS) --target bench_ledger
	$(RELEASE_DIR)/bench_ledger 20000 tests/bench/LEDGER.md

## make fuzz: clang + libFuzzer; builds every tests/fuzz/fuzz_*.c target in build/fuzz
## and runs each for FUZZ_TIME seconds (default 60) under ASan + UBSan, one after
## another; FUZZ_RUNS=N stops a target after N executions, FUZZ_ONLY=a,b picks targets.
fuzz: deps-fuzz
	python3 tests/fuzz/run.py

deps:
	@tools/install-deps run

deps-bench:
	@tools/install-deps bench

deps-test:
	@tools/install-deps test

deps-fuzz:
	@tools/install-deps fuzz

build:
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(RELEASE_DIR) -j$(JOBS) --target token-factory

build-asan:
	@cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DGW_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_DIR) -j$(JOBS)

## make ui: the console (admin-ui) built into admin-ui/dist, which the gateway serves at /
## (STATIC_DIR). Rebuilt only when its sources are newer than dist; `npm ci` only when
## node_modules is missing or older than package-lock.json. Node.js 20.19+ and npm.
UI          := admin-ui
UI_STAMP    := $(UI)/node_modules/.package-lock.json
UI_SOURCES  := $(shell find $(UI)/src $(UI)/public locales -type f 2>/dev/null) \
               $(wildcard $(UI)/index.html $(UI)/package.json $(UI)/package-lock.json \
                          $(UI)/vite.config.ts $(UI)/tsconfig.json $(UI)/postcss.config.cjs)

ui: $(UI)/dist/index.html

node-check:
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("make: the console needs Node.js 20.19 or newer (found "+process.version+")"); process.exit(1) }'

# npm ci rewrites node_modules/.package-lock.json, so its time says when it last ran.
$(UI_STAMP): $(UI)/package-lock.json | node-check
	cd $(UI) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(UI)/dist/index.html: $(UI_SOURCES) $(UI_STAMP) | node-check
	cd $(UI) && npm run build --silent
	@touch $@

## make readme: regenerate the configuration table in README.md from the config table.
readme: build
	python3 tools/gen-readme-config.py $(RELEASE_DIR)/token-factory README.md

clean:
	rm -rf build
