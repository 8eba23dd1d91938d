# syncsim -- this Makefile only orchestrates: it installs what a fresh Debian 12
# machine lacks, then lets meson and ninja build, and runs the suites.
#
#   make run     set up, build build/syncsim, run every scenario (one line each)
#   make test    set up, build (gcc, clang, sanitizers, fuzz), run the whole test suite, and
#                run each fuzz target briefly (FUZZ_BRIEF_SECONDS each)
#   make fuzz    set up, build the fuzz targets (build-fuzz/) and run each for FUZZ_SECONDS
#   make bench   set up, build an optimised binary, print the benchmark figures
#   make report  set up, build an optimised binary, run the shipped grid and write its
#                conflict-rate report to report/ (resumable: results in report/results.sqlite)
#   make readme  check every command output README.md shows, the slow ones too (the shipped
#                grid: a few CPU minutes); make test checks all but those.
#                /usr/bin/python3 tests/readme.py --update --slow build/syncsim rewrites them
#   make report-engines  the same for scenarios/grids/compare-engines.yaml (Yjs, Automerge,
#                PouchDB beside the reference) into report/engines/
#   make install [PREFIX=/usr/local] [DESTDIR=...]
#                set up, build, install the binary, the profiles, the scenario corpora and
#                catalogs, the report script and syncsim(1) under PREFIX
#
# run and test also need Node.js for the engine adapters (adapters/js: Yjs, Automerge, PouchDB):
# Debian's nodejs and npm are installed only when node or npm is not on the PATH (a machine may
# have Node.js from elsewhere), then `npm ci` installs the versions package-lock.json pins.

SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c
# Recipes are scripts: show what they do (meson, ninja and the tests speak for
# themselves), not their text.
.SILENT:

# Debian packages the build, the tests and the report scripts need.
# libclang-rt-14-dev: clang's sanitizer and libFuzzer runtimes (only recommended by clang);
# strace: tests/results-db.sh kills sweeps, grids and merges at each database write with it;
# chromium: tests/timeline.sh draws run --timeline's page in it, headless.
DEB_PACKAGES := gcc libc6-dev make pkg-config meson ninja-build libsqlite3-dev libcjson-dev \
                libfyaml-dev clang libclang-rt-14-dev strace python3 python3-matplotlib chromium

# Seconds each fuzz target runs: in make fuzz, and in make test (two targets at a time).
FUZZ_SECONDS ?= 600
FUZZ_BRIEF_SECONDS ?= 20

# python3-yaml: tests/ci-examples.py reads the CI files in examples/ci/.
DEB_PACKAGES += python3-yaml

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MESON_SETUP = meson setup --wipe
BUILD := build
PREFIX := /usr/local
JS := adapters/js

.PHONY: all deps js-deps build run test fuzz bench readme report report-engines install clean

all: build

deps:
	missing=$$(for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q '^install ok installed$$' || echo "$$p"; \
	done)
	if [ -n "$$missing" ]; then
	  echo "installing Debian packages:" $$missing
	  export DEBIAN_FRONTEND=noninteractive
	  $(SUDO) apt-get update -q
	  $(SUDO) apt-get install -y -q --no-install-recommends $$missing
	fi

# npm ci again only when package-lock.json is newer than what it installed last time.
js-deps:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	  echo "installing Debian packages: nodejs npm"
	  export DEBIAN_FRONTEND=noninteractive
	  $(SUDO) apt-get update -q
	  $(SUDO) apt-get install -y -q --no-install-recommends nodejs npm
	fi
	if [ ! -f $(JS)/node_modules/.package-lock.json ] || [ $(JS)/package-lock.json -nt $(JS)/node_modules/.package-lock.json ]; then
	  npm ci --prefix $(JS) --no-audit --no-fund --loglevel=error
	fi

# configure once; ninja rebuilds whatever changed
$(BUILD)/build.ninja:
	meson setup $(BUILD) >/dev/null

build-clang/build.ninja:
	CC=clang meson setup build-clang >/dev/null

build-san/build.ninja:
	meson setup build-san -Db_sanitize=address,undefined -Db_lundef=false >/dev/null

# libFuzzer targets (tests/fuzz/): clang with ASan and UBSan, coverage everywhere.
build-fuzz/build.ninja:
	CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null

# Link-time optimisation: the writers of messages (base/json_out.c) and the store's small functions
# are called across files on every message and row; inlined, a 2-hour slice of week-100 runs 6% fewer
# instructions (docs/performance.md).
build-release/build.ninja:
	meson setup build-release --buildtype=release -Db_ndebug=false -Db_lto=true >/dev/null

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build js-deps
	./$(BUILD)/syncsim suite scenarios

test: deps js-deps $(BUILD)/build.ninja build-clang/build.ninja build-san/build.ninja build-fuzz/build.ninja
	ninja -C $(BUILD)
	ninja -C build-clang
	ninja -C build-san
	ninja -C build-fuzz fuzz-targets syncsim
	echo "== the test suite, gcc build ($(BUILD))"
	meson test -C $(BUILD) --print-errorlogs --num-processes 2 --no-suite node-quick
	echo "== the unit and fuzz-regression suites, clang build (build-clang)"
	meson test -C build-clang --print-errorlogs --num-processes 2 --no-rebuild --suite unit --suite fuzz
	# The engine adapters are Node.js programs whichever compiler built syncsim: the gcc run covers them,
	# and node-quick covers syncsim's side of the protocol under the sanitizers.
	# The timeline page is Chromium's work: the gcc run checks it; traces covers render/ under the sanitizers.
	# The README's outputs are the same text from any build: the gcc run compares them.
	echo "== the test suite again, address and undefined-behaviour sanitizers (build-san)"
	meson test -C build-san --print-errorlogs --num-processes 2 --no-rebuild --no-suite node --no-suite engines \
	  --no-suite timeline --no-suite readme
	echo "== gcc and clang builds give the same trace hashes"
	tests/cross-compiler.sh $(BUILD)/syncsim build-clang/syncsim scenarios
	echo "== every fuzz target, briefly"
	tests/fuzz/run.sh build-fuzz $(FUZZ_BRIEF_SECONDS)

# Results, corpora and any finding's input: build-fuzz/fuzz/<target>/ (see tests/fuzz/run.sh).
fuzz: deps build-fuzz/build.ninja
	ninja -C build-fuzz fuzz-targets syncsim
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

bench: deps build-release/build.ninja
	ninja -C build-release
	/usr/bin/python3 tests/bench/bench.py build-release

readme: deps js-deps $(BUILD)/build.ninja
	ninja -C $(BUILD)
	/usr/bin/python3 tests/readme.py --slow $(BUILD)/syncsim

# report/compare-designs.png is the picture README.md shows (docs/compare-designs.png).
report: deps build-release/build.ninja
	ninja -C build-release
	mkdir -p report
	./build-release/syncsim grid scenarios/grids/compare-designs.yaml --db report/results.sqlite -j $$(nproc)
	/usr/bin/python3 reports/conflict_report.py report/results.sqlite -o report --grid compare-designs \
	  --main-png report/compare-designs.png

# report/compare-engines.png: Yjs, Automerge and PouchDB beside the reference (docs/compare-engines.png).
# About a quarter of a CPU hour: the engines run through Node.js.
report-engines: deps js-deps build-release/build.ninja
	ninja -C build-release
	mkdir -p report/engines
	./build-release/syncsim grid scenarios/grids/compare-engines.yaml --db report/engines/results.sqlite -j $$(nproc)
	/usr/bin/python3 reports/conflict_report.py report/engines/results.sqlite -o report/engines --grid compare-engines \
	  --main-png report/compare-engines.png

# The binary finds its data relative to itself (meson.build), so only the
# install location depends on PREFIX: re-configuring it rebuilds nothing.
install: deps $(BUILD)/build.ninja
	meson configure $(BUILD) -Dprefix=$(abspath $(PREFIX)) >/dev/null
	ninja -C $(BUILD)
	meson install -C $(BUILD) --no-rebuild $(if $(DESTDIR),--destdir $(DESTDIR))

clean:
	rm -rf $(BUILD) build-clang build-san build-release build-fuzz report
