# contractgate: the Makefile is the interface; CI only calls it. `make help` lists targets.
SHELL := /bin/bash
GO    ?= go
BIN   := bin

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# The apps whose upstream clients and x-upstream glue internal/tooling/codegen writes:
# API_DIR:GEN_DIR pairs. CODEGEN_GATEWAY: the same for apps whose gateway package the generator
# writes too (-gateway): the engine's fixture app (its end-to-end tests, internal/engine/server),
# which `make init` leaves in place.
CODEGEN := api:gen
CODEGEN_GATEWAY := internal/engine/server/testdata/fixture:gen/fixture

.PHONY: generate
generate: ## regenerate gen/ from api/ (upstream clients and x-upstream glue: internal/tooling/codegen; oapi-codegen pinned in go.mod; openapi-typescript in sdk/typescript/package-lock.json)
	$(GO) run ./internal/tooling/codegen/cmd/codegen $(CODEGEN)
	$(GO) run ./internal/tooling/codegen/cmd/codegen -gateway $(CODEGEN_GATEWAY)
	$(GO) generate ./gen/gateway ./gen/sdk
	./scripts/gen-typescript.sh

.PHONY: build
build: ## build the gateway and the demo upstreams into bin/
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: run
run: build ## start the demo upstreams and the gateway on 127.0.0.1 (Ctrl-C stops all; MOCK=1: upstreams mocked)
	MOCK=$(MOCK) ./scripts/run.sh $(BIN)

.PHONY: test
test: ## run every test, with the race detector; then the allocation budgets, which hold without it
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run AllocationBudget ./internal/app/...

.PHONY: check
check: ## gofmt, go vet, go mod tidy -diff, gen/ drift, and the contract gate (Redocly, speclint, breaking changes)
	./scripts/check.sh

.PHONY: image
image: ## build the container image (deploy/Containerfile, FROM scratch) with buildah: IMAGE=name:tag, OUT=file.oci.tar
	./scripts/image.sh

.PHONY: deploy-check
deploy-check: ## helm lint + template of deploy/helm/contractgate (helm pinned in go.mod, offline), then its tests (manifests decoded strictly, wiring, the image built and started)
	./scripts/deploy-check.sh

.PHONY: init
init: ## replace the storefront with an app of your own: make init NAME=acme (FORCE=1: replace any app), then regenerate
	@test -n "$(NAME)" || { echo "usage: make init NAME=<name>"; exit 2; }
	$(GO) run ./cmd/contractgate init -name "$(NAME)" $(if $(FORCE),-force)
	$(MAKE) generate
	$(GO) mod tidy         # the storefront's test-only dependencies (toxiproxy) go with it
	./scripts/release.sh   # the skeleton's contract is the first release: the breaking-change gate's base

.PHONY: init-check
init-check: ## in a scratch copy: make init NAME=acme, then test, check and run (CI runs it)
	./scripts/init-check.sh

.PHONY: walkthrough-check
walkthrough-check: ## in a scratch copy: README "Add an operation in five minutes" as written (its snippets, generate, build, test, check, run + curl; CI runs it)
	./scripts/walkthrough-check.sh

.PHONY: release
release: ## record api/openapi.yaml as the released contract api/released/openapi.yaml (needs a new info.version)
	./scripts/release.sh

.PHONY: sdk
sdk: ## build the SDK packages for client teams into dist/sdk: the Go module (+ zip, file GOPROXY) and the npm tarball, versioned by info.version (SDK_GO_MODULE, SDK_NPM_NAME: their names)
	$(GO) run ./internal/tooling/sdkpack/cmd/sdkpack -out dist/sdk

.PHONY: docs-assets
docs-assets: ## refresh the embedded Swagger UI (internal/engine/docs/assets) from web/docs/package-lock.json
	./web/docs/update.sh

.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 20s)
	./scripts/fuzz.sh

.PHONY: bench
bench: ## Go microbenchmarks, then the load test against a bare reverse proxy (results in bench/)
	./scripts/bench.sh
	./scripts/bench-load.sh

.PHONY: bench-load
bench-load: ## only the load test (bench/load-<commit>.txt); BENCH_LOAD_PROFILE=1 also profiles the gateway
	./scripts/bench-load.sh
