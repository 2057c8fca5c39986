.PHONY: up test lint typecheck migrate bench

up:            ## run the whole stack locally (mock provider when no API key is set)
	scripts/dev-up

test:          ## run the test suite against the real Postgres and Redis
	scripts/test

lint:
	.venv/bin/ruff check .

typecheck:
	.venv/bin/mypy

migrate:
	.venv/bin/alembic upgrade head

bench:         ## run every benchmark and print the figures (BENCH_ARGS=--quick for a short run)
	scripts/bench $(BENCH_ARGS)
