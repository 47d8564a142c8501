# voicegate — see README.md. Every target installs what it needs on first run.
.PHONY: dev test sms build deploy deploy-check fmt clippy bench fuzz load tools clean

dev: ## Run the whole API locally on 127.0.0.1:3000 (emulator on 127.0.0.1:4566)
	scripts/dev.sh

test: ## fmt, clippy, cfn-lint and every test against a private emulator
	scripts/test.sh

sms: ## Print the local SMS outbox (what `make dev` has "sent")
	@scripts/emulator.sh sms $${LOCAL_AWS_PORT:-4566}

build: ## Every Lambda function once, release arm64 (target/lambda/<name>/bootstrap), with sizes
	scripts/lambdas.sh

deploy: ## make build, then sam deploy (LIVEKIT_URL=wss://... required; PARAMETERS="Name=value ...")
	scripts/deploy.sh

deploy-check: ## The deploy rehearsal: arm64 build, SAM-translated template checks, each bootstrap under qemu
	scripts/deploy_check.sh

bench: ## Latency and memory of the hot paths against the emulator
	scripts/bench.sh

load: ## A bounded mixed workload on a private local stage (LOAD_CLIENTS, LOAD_SECONDS), then exact checks
	scripts/load.sh

fuzz: ## Fuzz the request parsers and token verifiers (FUZZ_SECONDS per target, default 60)
	scripts/fuzz.sh

tools: ## Install the local tools into .tools/
	scripts/tools.sh

fmt:
	cargo fmt --all

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

clean:
	rm -rf .tools .local target
