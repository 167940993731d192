# ballast: `make run` starts the agent (or `status --watch` outside a desktop session), `make test` runs every test, `make bench` prints the figures.
# Each target first installs the Debian packages it needs (scripts/deps.sh says which).

CARGO ?= cargo

.PHONY: run test bench install deps-run deps-test deps-bench

# `make install`: the binaries, build.rs's man pages and shell completions under PREFIX.
PREFIX ?= $(HOME)/.local

run: deps-run
	$(CARGO) build --release --workspace
	./target/release/ballast

test: deps-test
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked --quiet -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --locked --quiet -p ballast
	$(CARGO) build --profile checked --workspace --locked
	$(CARGO) test --profile checked --workspace --all-targets --locked
	$(CARGO) test --profile checked --workspace --doc --locked

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
	@echo "The agent in a real Plasma 6 session, then its own idle tick timed there and here (the testbed guest; needs root, about 20 minutes):"
	$(CARGO) build --release --locked --workspace --quiet
	$(CARGO) run --release --locked --quiet -p testbed -- bench --dir target/testbed/bench

install: deps-run
	$(CARGO) build --release --workspace --locked
	@generated=$$(dirname "$$(ls -td target/release/build/ballast-*/out/man | head -n1)"); \
	set -ex; \
	install -Dm755 -t $(DESTDIR)$(PREFIX)/bin target/release/ballast target/release/ballast-dashboard; \
	install -Dm644 -t $(DESTDIR)$(PREFIX)/share/man/man1 "$$generated"/man/*.1; \
	install -Dm644 "$$generated/completions/ballast.bash" $(DESTDIR)$(PREFIX)/share/bash-completion/completions/ballast; \
	install -Dm644 "$$generated/completions/_ballast" $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_ballast; \
	install -Dm644 "$$generated/completions/ballast.fish" $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/ballast.fish

deps-run deps-test deps-bench: deps-%:
	@scripts/deps.sh $*
