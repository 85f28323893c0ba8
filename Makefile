# Switchyard — the commands a developer needs.
#
#   make run       server on the embedded default (./switchyard.db, loopback, demo data)
#   make test      every test, with the race detector
#   make generate  regenerate protobuf, gRPC, gateway and OpenAPI code (pinned tools)
#   make lint      buf lint, go vet, staticcheck, gofmt check
#   make bench     evaluation micro-benchmarks

GO        ?= go
BUF       := $(GO) run github.com/bufbuild/buf/cmd/buf@v1.75.0
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.6.1
FUZZTIME  ?= 20s

.PHONY: run test generate lint bench fuzz build

build:
	$(GO) build -o bin/switchyard ./cmd/switchyard

run:
	$(GO) run ./cmd/switchyard serve --demo

# The domain's, releases', experiments', calendars' and webhooks' behaviour
# tests run a second time with their stores on a real etcd cluster.
test:
	$(GO) test -race -count=1 ./...
	SWITCHYARD_TEST_ENGINE=etcd $(GO) test -race -count=1 ./internal/domain ./internal/release ./internal/experiment ./internal/calendar ./internal/webhook

generate:
	rm -rf internal/gen/switchyard internal/gen/gateway
	rm -f internal/gen/openapi/*.json
	$(BUF) generate --path proto/switchyard

lint:
	$(BUF) lint
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '^internal/gen/')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./benchmarks/

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(FUZZTIME) ./internal/model/
	$(GO) test -run '^$$' -fuzz FuzzEvaluate -fuzztime $(FUZZTIME) ./internal/eval/
	$(GO) test -run '^$$' -fuzz FuzzDecodeContext -fuzztime $(FUZZTIME) ./internal/eval/
