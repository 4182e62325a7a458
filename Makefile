# rcli build, test and benchmark targets. `make test` is what CI runs.
GO       ?= go
BIN      ?= bin/rcli
FUZZTIME ?= 30s
PKGS     := ./...

.PHONY: all build test test-short vet lint fmt-check deps-check fuzz bench demo deps clean

all: build

build:
	$(GO) build -trimpath -o $(BIN) ./cmd/rcli

deps:
	@scripts/ensure-redis
	$(GO) mod download

# Unit and integration tests under the race detector, plus the fuzz targets' seed
# corpora (go test runs them as ordinary tests). Integration packages start real
# redis-server processes, so packages run one at a time (-p 1).
test: deps vet fmt-check deps-check
	$(GO) test -race -p 1 -count=1 -timeout 10m $(PKGS)

# Unit tests only: no redis-server needed.
test-short:
	$(GO) test -short -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# The codec must know nothing of sockets and the formatter nothing of connections.
deps-check:
	@if $(GO) list -deps ./internal/resp | grep -qx net; then \
		echo "internal/resp imports net"; exit 1; fi
	@if $(GO) list -deps ./internal/format | grep -q 'rcli/internal/pool'; then \
		echo "internal/format imports internal/pool"; exit 1; fi

lint: vet fmt-check deps-check

# Runs every fuzz target for FUZZTIME each, one at a time.
fuzz:
	@for pkg in $$($(GO) list ./internal/...); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$target ($(FUZZTIME))"; \
			$(GO) test $$pkg -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) || exit 1; \
		done; \
	done

# Micro-benchmarks of the codec and pool, then whole-program comparisons in bench/.
bench: deps build
	$(GO) test -run '^$$' -bench . -benchmem ./internal/resp ./internal/pool
	$(MAKE) -C bench

# Builds rcli and runs it against a throwaway local Redis that is removed afterwards.
demo: deps build
	@scripts/demo

clean:
	rm -rf bin
