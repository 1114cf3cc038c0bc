# The verbs a user types. Every target sets up what it needs: the virtualenv (.venv, built
# once, rebuilt when pyproject.toml changes) and, where apt and root are available,
# Debian's Fashion-MNIST.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FASHION_MNIST := /usr/share/datasets/fashion-mnist
EXP ?= dcgan_fashion_mnist
ARGS ?=
PYTEST_ARGS ?=
# Test processes side by side (pytest-xdist): one per core, at most MAX_JOBS (each holds
# torch and Lightning, about 1-2 GB); JOBS=0 runs every test in one process.
JOBS ?= auto
MAX_JOBS ?= 4

EVALUATOR := outputs/evaluators/fashion_mnist_28px.pt
DATA ?= fashion_mnist

.PHONY: help install data evaluator train test test-slow test-cluster test-kernels lint bench sweep reproduce cluster cluster-stop clean

help:
	@echo "make train [ARGS='model=mlp loss=hinge ...']  train (default: DCGAN on Fashion-MNIST, CPU)"
	@echo "make test [JOBS=N]                            set up, lint and run the test suite (N processes)"
	@echo "make test-slow                                the slow tests too"
	@echo "make test-cluster                             SLURM preemption, time limit, srun DDP (root)"
	@echo "make test-kernels [KERNELS='avx2 avx sse']    the numeric tests under other CPUs' math kernels"
	@echo "make data                                     install Debian's Fashion-MNIST where possible"
	@echo "make evaluator [DATA=fashion_mnist]           train the dataset's own classifier (domain FID/IS)"
	@echo "make sweep [ARGS='loss=ns,hinge seed=0,1']     a Hydra multirun of the default experiment"
	@echo "make reproduce EXP=NAME [ARGS='--seeds 0 1']  train a paper setting over its seeds, report vs the paper"
	@echo "make bench                                    training speed: ganlab vs a bare loop vs DataLoader"
	@echo "make cluster / make cluster-stop              a one-node SLURM cluster on this machine (root)"
	@echo "make clean                                    remove the virtualenv and caches (keeps outputs/)"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

data:
	@if [ -f $(FASHION_MNIST)/train-images-idx3-ubyte.gz ]; then \
		echo "Fashion-MNIST found in $(FASHION_MNIST)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -q && apt-get install -y -q dataset-fashion-mnist; \
	else \
		echo "Fashion-MNIST is not in $(FASHION_MNIST). Install it with"; \
		echo "  sudo apt-get install dataset-fashion-mnist"; \
		echo "or put the four IDX files in data/, or let torchvision download them (needs network)."; \
	fi

# The default experiment measures domain FID/IS, so it needs Fashion-MNIST's evaluator (trained
# once, a few minutes on a CPU).
$(EVALUATOR): | install data
	$(BIN)/ganlab-train-evaluator data=fashion_mnist

evaluator: install data
	$(BIN)/ganlab-train-evaluator data=$(DATA)

train: install data $(EVALUATOR)
	$(BIN)/ganlab-train experiment=$(EXP) $(ARGS)

sweep: install data $(EVALUATOR)
	$(BIN)/ganlab-train -m experiment=$(EXP) $(or $(ARGS),loss=ns,hinge)

# experiments/NAME.yaml over its seeds -> experiments/results/NAME.{md,json,png}. The image
# settings measure domain FID/IS, so they need the evaluator too.
reproduce: install data $(EVALUATOR)
	$(BIN)/ganlab-reproduce $(EXP) $(ARGS)

bench: install data
	$(BIN)/python bench/train_speed.py

# A one-node SLURM cluster on localhost (installs slurm-wlm and munge with apt where needed),
# to try launcher=slurm before a real cluster.
cluster:
	scripts/slurm-local-cluster start

cluster-stop:
	scripts/slurm-local-cluster stop

lint: install
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

test: install data lint
	$(BIN)/pytest -n $(JOBS) --maxprocesses $(MAX_JOBS) $(PYTEST_ARGS)

test-slow: install data
	$(BIN)/pytest -n $(JOBS) --maxprocesses $(MAX_JOBS) -m slow $(PYTEST_ARGS)

# SLURM jobs preempted, signalled and run as two tasks on the local cluster (a few minutes:
# each waits on real jobs); the tests start the cluster themselves (root and apt-get).
test-cluster: install data
	$(BIN)/pytest -m cluster $(PYTEST_ARGS) tests/test_slurm.py

# The numeric tests again with the math libraries held to an older instruction set, as on
# another CPU: OpenBLAS (numpy, scipy), torch's vectorised ops, MKL (torch's BLAS) and oneDNN
# (its convolutions). pytest's header prints the kernels each run actually took.
NUMERIC_TESTS := tests/metrics tests/test_losses.py tests/nets tests/test_ddp.py tests/test_golden.py \
	tests/restoration/test_metrics.py tests/restoration/test_ddp_restoration.py
KERNELS_avx2 := OPENBLAS_CORETYPE=Haswell ATEN_CPU_CAPABILITY=avx2 \
	MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
KERNELS_avx := OPENBLAS_CORETYPE=Sandybridge ATEN_CPU_CAPABILITY=default \
	MKL_ENABLE_INSTRUCTIONS=AVX ONEDNN_MAX_CPU_ISA=AVX
KERNELS_sse := OPENBLAS_CORETYPE=Prescott ATEN_CPU_CAPABILITY=default \
	MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41
KERNELS ?= avx2 avx sse

test-kernels: $(addprefix test-kernels-,$(KERNELS))

test-kernels-%: install data
	@test -n "$(KERNELS_$*)" || { echo "KERNELS=$*: choose from avx2 avx sse"; exit 2; }
	env $(KERNELS_$*) $(BIN)/pytest $(PYTEST_ARGS) $(NUMERIC_TESTS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
