# swarmcast: `make run` to build and start the daemon, `make test` to run every test.
CARGO ?= cargo

.PHONY: run build test setup setup-test lint clean web fuzz fuzz-smoke bench

run: setup web
	$(CARGO) build --release
	mkdir -p data
	./target/release/swarmcast serve

build: setup web
	$(CARGO) build --release

test: setup-test web
	$(CARGO) test --no-fail-fast -- --test-threads=2
	$(MAKE) fuzz-smoke

# cargo-fuzz targets for every parser of outside input (fuzz/, scripts/fuzz.sh):
# `make fuzz` runs each for FUZZ_SECONDS, `make fuzz-smoke` (part of `make test`) briefly.
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 4

fuzz: setup-test web
	./scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: setup-test web
	FUZZ_SANITIZER=none FUZZ_DEV=1 ./scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

setup:
	./scripts/setup.sh build

setup-test:
	./scripts/setup.sh test

# The web UI's npm packages (esbuild, hls.js, playwright-core); build.rs runs the
# build into the binary.
web: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

# Every benchmark against its peer (release build), as one table (bench/report.sh).
bench: setup web
	./scripts/setup.sh bench
	$(CARGO) build --release
	@command -v rqbit >/dev/null || [ -x $$HOME/.cargo/bin/rqbit ] || $(CARGO) install rqbit --locked
	./bench/report.sh

lint:
	./scripts/check-layout.py src
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf data web/node_modules

# --- appliance: packages, cross build, images (see README "Appliance") -----------
AARCH64 := aarch64-unknown-linux-gnu
IMAGE_DIR ?= build/image

.PHONY: deb deb-arm64 aarch64 image image-amd64 image-arm64 image-test cargo-deb

cargo-deb:
	@command -v cargo-deb >/dev/null || $(CARGO) install cargo-deb --locked

# The .deb of this machine's architecture (target/debian/).
deb: setup cargo-deb
	$(CARGO) deb --strip

# Cross-compile to arm64 with Debian multiarch (no Docker), then check the binary.
aarch64:
	./scripts/setup.sh aarch64
	./scripts/aarch64-sysroot.sh build/aarch64
	rustup target list --installed | grep -qx $(AARCH64) || rustup target add $(AARCH64)
	bash -c '. scripts/aarch64-env.sh && nice -n 19 $(CARGO) build --release --target $(AARCH64)'
	./scripts/aarch64-check.sh target/$(AARCH64)/release/swarmcast

deb-arm64: aarch64 cargo-deb
	bash -c '. scripts/aarch64-env.sh && $(CARGO) deb --strip --no-build --target $(AARCH64)'

image: image-amd64 image-arm64

image-amd64: deb
	./scripts/setup.sh image
	image/build.sh amd64 $$(ls target/debian/swarmcast_*_amd64.deb | tail -1) $(IMAGE_DIR)/swarmcast-amd64.img

image-arm64: deb-arm64
	./scripts/setup.sh image
	image/build.sh arm64 $$(ls target/debian/swarmcast_*_arm64.deb | tail -1) $(IMAGE_DIR)/swarmcast-rpi-arm64.img

# Boots the x86-64 image under QEMU (software emulation) and checks the daemon.
image-test:
	./scripts/setup.sh image
	image/test.sh $(IMAGE_DIR)/swarmcast-amd64.img
