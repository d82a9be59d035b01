# swarmcast: `make run` to build and start the daemon, `make test` to run every test.
CARGO ?= cargo

.PHONY: run build test setup setup-test lint clean

run: setup
	$(CARGO) build --release
	mkdir -p data
	./target/release/swarmcast serve

build: setup
	$(CARGO) build --release

test: setup-test
	$(CARGO) test --no-fail-fast -- --test-threads=2

setup:
	./scripts/setup.sh build

setup-test:
	./scripts/setup.sh test

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf data
