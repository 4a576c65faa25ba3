# The two commands: `make run` starts the whole system, `make test` passes the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
CODE := $(wildcard shared services oms tests bench)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test lint format bench profile clean servers

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml oms/eventlet-quiet.pth
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq python3-venv; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@# every Python in the venv (nameko shell, your scripts) without eventlet's deprecation banner
	cp oms/eventlet-quiet.pth "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/"
	@touch $@

servers: install  ## RabbitMQ and PostgreSQL packages (installed from Debian if missing, as root)
	$(PY) -m oms.servers ensure

run: install  ## all five services on SQLite in var/, with a local RabbitMQ unless one answers
	$(PY) -m oms.run

test: install servers lint  ## the whole suite against throwaway RabbitMQs and PostgreSQLs (tests/run.py)
	$(PY) -m tests.run

lint: install
	$(VENV)/bin/ruff check $(CODE)
	$(VENV)/bin/ruff format --check $(CODE)

format: install
	$(VENV)/bin/ruff format $(CODE)
	$(VENV)/bin/ruff check --fix $(CODE)

bench: install servers  ## throughput and latency on SQLite and PostgreSQL; see docs/benchmarks.md
	$(PY) -m bench.run
	$(PY) -m bench.queries
	$(PY) -m bench.billing
	$(PY) -m bench.gateway
	$(PY) -m bench.notify
	$(PY) -m bench.documents
	$(PY) -m bench.fulfilment
	$(PY) -m bench.integrators
	$(PY) -m bench.replicas
	$(PY) -m bench.sealing

profile: install servers  ## where each service's CPU goes under load (py-spy); see docs/benchmarks.md
	$(PY) -m pip install -q -e '.[bench]'
	$(PY) -m bench.run --profile --paced-orders 0

clean:
	rm -rf $(VENV) var *.egg-info
