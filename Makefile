# modelops — run `make help` for the targets.
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...
# The version make build stamps: git describe when this is a git checkout, else the binary
# falls back to its module version or the commit go build recorded (modelops version).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	/^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2 } \
	/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Build

.PHONY: build
build: ## Build bin/modelops.
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/modelops ./cmd/modelops

.PHONY: schemas
schemas: ## Regenerate schemas/*.json from the Go types in policies/.
	$(GO) run ./schemas/gen

##@ Test

.PHONY: testenv
testenv: ## Build etcd and kube-apiserver for the Kubernetes tests (once; cached, ~15 min cold).
	GO=$(GO) scripts/testenv.sh

.PHONY: test
test: testenv ## go vet, then every test with the race detector.
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 40m $(PKGS)

.PHONY: bench
bench: ## The headline benchmarks: drift vs SciPy (with the ratio), Parquet end to end, validate 10k, no-op cycle 10k.
	GO=$(GO) scripts/bench.sh

.PHONY: bench-all
bench-all: ## Every benchmark of every package.
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

.PHONY: fmt
fmt: ## gofmt every Go file.
	gofmt -w $$(git ls-files '*.go')

##@ Demo

.PHONY: demo
demo: ## The whole story on the embedded defaults, in a temporary directory.
	$(GO) run -tags lite ./cmd/modelops demo

.PHONY: demo-ui
demo-ui: ## The story, then its web UI on 127.0.0.1:8080 until Ctrl-C.
	$(GO) run ./cmd/modelops demo --ui 127.0.0.1:8080
