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

.PHONY: all build demo test fuzz bench bench-bus bench-scale cross deb clean FORCE

all: build

## build: the fenghuo binary into bin/fenghuo (cgo: go-sqlite3)
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) $(PKG)

## demo: simulated site + embedded broker + gateway + station, a scripted scenario (< 60 s);
## DEMO="--station" also opens the station's web console, DEMO="--gb26875" adds the 119 centre
DEMO ?=
demo: build
	./$(BIN) demo $(DEMO)

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

## bench-scale: RSS, CPU and poll rate of the daemon at 100 000 and 10 000 points (Modbus TCP, 1 s) and idle (scripts/bench-scale.sh)
bench-scale: build
	@DEVICES=1000 BUSES=10 scripts/bench-scale.sh
	@DEVICES=100 BUSES=1 scripts/bench-scale.sh
	@DEVICES=0 scripts/bench-scale.sh

## cross: bin/fenghuo-linux-{amd64,arm64,armv7} with cgo through Debian's cross compilers
## (gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf); scripts/cross-check.sh runs them under qemu-user.
## Linked statically, so a board's own libc (any version, or none) does not matter: pure-Go DNS and
## user lookups (netgo, osusergo) and SQLite without loadable extensions (which would need dlopen).
CROSS_TAGS    := netgo osusergo sqlite_omit_load_extension
CROSS_LDFLAGS := $(LDFLAGS) -linkmode external -extldflags -static
CROSS_CC_amd64 := gcc
CROSS_CC_arm64 := aarch64-linux-gnu-gcc
CROSS_CC_armv7 := arm-linux-gnueabihf-gcc
CROSS_GO_amd64 := GOARCH=amd64
CROSS_GO_arm64 := GOARCH=arm64
CROSS_GO_armv7 := GOARCH=arm GOARM=7
cross: bin/fenghuo-linux-amd64 bin/fenghuo-linux-arm64 bin/fenghuo-linux-armv7

bin/fenghuo-linux-%: FORCE
	GOOS=linux $(CROSS_GO_$*) CC=$(CROSS_CC_$*) $(GO) build -trimpath -tags '$(CROSS_TAGS)' -ldflags '$(CROSS_LDFLAGS)' -o $@ $(PKG)

## deb: bin/fenghuo_VERSION_ARCH.deb with nfpm (scripts/packaging/nfpm.yaml); DEB_ARCH=amd64|arm64|armhf
DEB_ARCH    ?= amd64
DEB_BIN_amd64 := amd64
DEB_BIN_arm64 := arm64
DEB_BIN_armhf := armv7
# Debian versions start with a digit: v1.2.3 from a tag, else 0.0~git<commit date>.<commit>
DEB_VERSION ?= $(shell v=$$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null) && echo $${v\#v} || \
               echo 0.0~git$$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0).$(COMMIT))
ifneq ($(filter deb,$(MAKECMDGOALS)),)
  ifeq ($(DEB_BIN_$(DEB_ARCH)),)
    $(error DEB_ARCH=$(DEB_ARCH): want amd64, arm64 or armhf)
  endif
endif
NFPM        ?= $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2
deb: bin/fenghuo-linux-$(DEB_BIN_$(DEB_ARCH))
	install -D -m 0755 $< bin/deb/fenghuo
	DEB_ARCH=$(DEB_ARCH) DEB_VERSION='$(DEB_VERSION)' \
	  $(NFPM) package --config scripts/packaging/nfpm.yaml --packager deb --target bin/

FORCE:

clean:
	rm -rf bin
