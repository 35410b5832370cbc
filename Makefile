# erpsync — run `make help` for the targets.
include versions.env

SHELL := /bin/bash
GO ?= go
# Every test against real services; -race catches data races in the worker and the simulator.
TEST_FLAGS ?= -race -count=1 -timeout 45m
# One package at a time (-p 1): benchmarks of two packages at once would share the cores.
BENCH_FLAGS ?= -p 1 -run '^$$' -bench . -benchtime 1x -timeout 4h
BENCH_PKGS ?= ./...
SERVICES := scripts/services.sh
WITH_ENV := eval "$$($(SERVICES) env)" &&

.PHONY: help dev test services stop status bench bench-against build fmt vet clean

help: ## this list
	@grep -hE '^[a-z-]+:.*## ' $(firstword $(MAKEFILE_LIST)) | sed 's/:.*## /\t/' | expand -t 14

dev: ## the whole stack on this machine: Elasticsearch, Temporal + UI, simulator, worker, schedules, storefront
	@scripts/dev.sh

test: services ## provision what is missing, then run every test against the real services
	@$(WITH_ENV) $(GO) version && $(GO) test $(TEST_FLAGS) ./...

services: ## start Elasticsearch and the Temporal dev server (reused when running)
	@$(SERVICES) up

stop: ## stop the services started by make services / make dev
	@$(SERVICES) down

status: ## which services answer
	@$(SERVICES) status

# The benchmarks give Elasticsearch CPU 0 alone (BENCH_ES_CPUS); a node they start is sized for
# that one processor, not for the machine's (README, Benchmarks).
bench bench-against: export ERPSYNC_ES_PROCESSORS ?= $(if $(BENCH_ES_CPUS),,1)
bench: services ## the benchmarks (see README, Benchmarks); figures are printed and saved in bench-results/
	@$(WITH_ENV) $(GO) test $(BENCH_FLAGS) $(BENCH_PKGS)

bench-against: ## this tree's rebuild against another revision's (BENCH_AGAINST=<revision>) or settings' (BENCH_AGAINST_ENV='K=V ...'), in alternating pairs
	@test -n "$(BENCH_AGAINST)$(BENCH_AGAINST_ENV)" || { echo "make bench-against: set BENCH_AGAINST to a git revision (BENCH_AGAINST=HEAD~1), BENCH_AGAINST_ENV to settings (BENCH_AGAINST_ENV='GOGC=100'), or both" >&2; exit 2; }
	@$(SERVICES) up
	@$(WITH_ENV) $(GO) test -run '^$$' -bench '^BenchmarkAgainst$$' -benchtime 1x -timeout 4h ./bench/

build: ## compile every binary into bin/
	$(GO) build -o bin/ ./worker ./starter ./cmd/...

fmt: ## gofmt the tree
	gofmt -w .

vet: ## go vet
	$(GO) vet ./...

clean: ## remove build outputs (not the service cache)
	rm -rf bin bench-results screenshots
