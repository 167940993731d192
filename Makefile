# ballast: `make run` starts the agent (or `status --watch` outside a desktop session), `make test` runs every test, `make bench` prints the figures.
# Each target first installs the Debian packages it needs (scripts/deps.sh says which).

CARGO ?= cargo

.PHONY: run test bench deps-run deps-test deps-bench

run: deps-run
	$(CARGO) build --release --workspace
	./target/release/ballast

test: deps-test
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked --quiet -- -D warnings
	$(CARGO) build --release --workspace --locked
	$(CARGO) test --workspace --all-targets --locked
	$(CARGO) test --workspace --doc --locked

bench: deps-bench
	$(CARGO) bench --locked --bench sample
	$(CARGO) bench --locked --bench refresh
	$(CARGO) bench --locked --bench launch
	$(CARGO) bench --locked --bench kconfig
	$(CARGO) bench --locked --bench agent
	@$(CARGO) build --release --locked --quiet
	$(CARGO) bench --locked -p ballast-dashboard --bench footprint
	@echo
	@echo "Footprint of the release binary:"
	@$(CARGO) build --release --locked --quiet
	@printf "  size %s bytes, Qt libraries linked: %s\n" \
		"$$(stat -c %s target/release/ballast)" \
		"$$(ldd target/release/ballast | grep -c Qt || true)"
	@./target/release/ballast status --watch --json > /dev/null & pid=$$!; sleep 5; \
		printf "  idle RSS of ballast status --watch: %s kB\n" "$$(ps -o rss= -p $$pid | tr -d ' ')"; \
		kill $$pid
	@echo
	@echo "The agent in a real Plasma 6 session (the testbed guest; needs root, about 10 minutes):"
	$(CARGO) build --release --locked --workspace --quiet
	$(CARGO) run --release --locked --quiet -p testbed -- bench --dir target/testbed/bench

deps-run deps-test deps-bench: deps-%:
	@scripts/deps.sh $*
