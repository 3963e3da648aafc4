# henb-bench: `make demo` runs the TS 32.593 plan against the default inventory (the mock unit);
# `make test` runs the bench's own tests. Both install what they need first (Debian packages, a .venv).
VENV    := .venv
BIN     := $(VENV)/bin
PYTHON  ?= python3
# The Debian packages, one list shared with `henb-bench doctor` (with why each is needed).
DEB     := $(shell sed -e 's/\#.*//' bench/deb-packages.txt)
STAMP   := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
SRC     := bench drivers testplans tests benchmarks
# pytest-xdist workers for `make test`: the tests mostly wait on daemons and bounds, so more workers than
# cores pays (docs/performance.md). Each worker gets its own namespace prefix (tests/support.py).
TEST_WORKERS ?= 6

.PHONY: demo test lint deps venv clean

deps:
	@missing=""; for p in $(DEB); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv: $(STAMP)

# The doctor first (`run --doctor`: `henb-bench doctor --quiet` in the run's own process, one Python start-up for
# both): a host that cannot run the bench stops there with the fix, not with every test erroring. Bytecode
# written as for `make test` (below): otherwise the run, pytest's assertion rewriting of the plans and every mock
# unit's process compile the bench's modules anew each time (about 2 s of CPU for the run's process alone).
demo: deps venv
	PYTHONDONTWRITEBYTECODE= $(BIN)/henb-bench run --doctor

lint: venv
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)
	$(BIN)/mypy bench drivers

# Bytecode written even where the environment says not to (PYTHONDONTWRITEBYTECODE=1 on some hosts): each of
# pytest's processes, and every `henb-bench run` and mock unit a test starts, otherwise compiles (and pytest
# assertion-rewrites) every module anew: 7.7 s of CPU for pytest's collection, 3.9 s with the cache.
test: deps venv lint
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -rfE -n $(TEST_WORKERS) --dist loadgroup

clean: venv
	$(BIN)/henb-bench clean
