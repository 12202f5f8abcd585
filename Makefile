# fenghuo — the two commands a new user needs are `make demo` and `make test`.
GO        ?= go
BIN       := bin/fenghuo
PKG       := ./gateway/cmd/fenghuo
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -s -w -X github.com/fenghuo-iot/fenghuo/gateway/cli.version=$(VERSION) \
             -X github.com/fenghuo-iot/fenghuo/gateway/cli.commit=$(COMMIT) \
             -X github.com/fenghuo-iot/fenghuo/gateway/cli.date=$(DATE)
export CGO_ENABLED := 1

.PHONY: all build demo test fuzz bench bench-bus clean

all: build

## build: the fenghuo binary into bin/fenghuo (cgo: go-sqlite3)
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)

## demo: simulated site + embedded broker + gateway + station, a scripted scenario (< 60 s)
demo: build
	./$(BIN) demo

## test: every test, with the race detector (integration tests start mosquitto and pymodbus)
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 20m ./...

## fuzz: run each fuzz target for FUZZTIME (make test runs only their seed corpora)
FUZZTIME ?= 30s
fuzz:
	@$(GO) list -f '{{.ImportPath}} {{.Dir}}' ./... | while read pkg dir; do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; done

## bench: every benchmark, numbers only (scripts/bench.sh)
bench:
	scripts/bench.sh

## bench-bus: 32 slaves × 10 registers at 9600 8N1 on a paced pty, against the wire minimum and goburrow's stock RTU
bench-bus:
	FENGHUO_BENCH_BUS=1 $(GO) test -run WireSweep -v -count=1 ./drivers/transport/

clean:
	rm -rf bin
