# Athena (Go). `make run` starts the server on its embedded defaults;
# `make test` installs what the tests need (where missing) and runs everything.

GO ?= go

# Lists the Go files of the repository, minus node_modules (gofmt . would walk it).
FIND_GO = find . \( -name .git -o -name node_modules \) -prune -o -type f -name '*.go' -print

.PHONY: run build deps check test fmt lint bench console schemathesis

## run: start the gateway on port 4052 with the embedded SQLite store (no config, no services)
run:
	$(GO) run ./cmd/athena serve

## build: compile the binary into bin/athena
build:
	$(GO) build -o bin/athena ./cmd/athena

## console: refresh the console's copy of the TypeScript client (console/web/client from clients/js/dist)
console:
	./console/sync-client.sh

## deps: install the test prerequisites that are missing (PostgreSQL binaries, node, test/js and clients/js node_modules, ...)
deps:
	./test/deps.sh

## check: fail on gofmt, go vet or go mod tidy drift
check:
	GO=$(GO) ./test/check.sh

## test: deps, check, the whole suite under -race, then every benchmark once
test: deps check
	$(GO) test -race -count=1 -timeout 15m ./...
	$(GO) test -run='^$$' -bench=. -benchtime=1x ./...

## schemathesis: only the spec test (schemathesis against a real server's /openapi.yaml; make test runs it with ./...)
schemathesis: deps
	$(GO) test -count=1 -v -run TestSchemathesis ./test/schemathesis

## fmt: gofmt every Go file in place
fmt:
	@$(FIND_GO) | xargs -r gofmt -l -w

## lint: gofmt check, go vet, and staticcheck when it is installed (lint never downloads tools)
lint:
	@out=$$($(FIND_GO) | xargs -r gofmt -l); if [ -n "$$out" ]; then echo "gofmt needs to run on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@sc=$$(command -v staticcheck || true); \
	if [ -z "$$sc" ] && [ -x "$$($(GO) env GOPATH)/bin/staticcheck" ]; then sc="$$($(GO) env GOPATH)/bin/staticcheck"; fi; \
	if [ -n "$$sc" ]; then echo "$$sc ./..."; "$$sc" ./...; else echo "lint: staticcheck not installed, skipped"; fi

## bench: a short `athena bench --embedded` profile (throwaway PostgreSQL, every scenario, ~2 min): the table, and an HTML report (BENCH_MICRO=1 adds the core/rest/wss micro-benchmarks)
bench:
	GO=$(GO) ./test/bench.sh
