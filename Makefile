# swarmcast: `make run` to build and start the daemon, `make test` to run every test.
CARGO ?= cargo

.PHONY: run build test setup setup-test lint clean web

run: setup web
	$(CARGO) build --release
	mkdir -p data
	./target/release/swarmcast serve

build: setup web
	$(CARGO) build --release

test: setup-test web
	$(CARGO) test --no-fail-fast -- --test-threads=2

setup:
	./scripts/setup.sh build

setup-test:
	./scripts/setup.sh test

# The web UI's npm packages (esbuild, hls.js, playwright-core); build.rs runs the
# build into the binary.
web: web/node_modules/.package-lock.json

web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf data web/node_modules
