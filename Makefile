# The course's commands. Quick start: `make lab` opens the course, `make test` validates it.
# Both create the virtual environment .venv on first use (and only then, or when
# pyproject.toml changes).
SHELL := /bin/bash
# The newest Python on PATH that TensorFlow 2.21 supports (pyproject.toml's requires-python) and
# that runs (a pyenv shim of a version not selected does not), else python3, which make install
# refuses with what to do when it is not one of them.
PYTHON ?= $(shell for v in 13 12 11; do python3.$$v -c '' 2>/dev/null && { command -v python3.$$v; \
	exit; }; done; command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8888
# Containers and cloud images often run as root, which Jupyter refuses unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help install env-check lab test course site site-js test-latest student sync data bench clean
help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# The course's kernel (jupyter/kernels/python3) replaces ipykernel's own in .venv, so every
# front end that uses .venv (jupyter lab or nbconvert run by hand, VS Code) keeps TensorFlow's
# start-up lines out of the notebooks, not only make lab and make course. Installed with the
# environment, and by every make install whose copy differs from the course's: a reinstall of
# ipykernel (pip, tools/check_env.py --repair) writes its own kernel.json over it.
KERNEL_DIR := $(VENV)/share/jupyter/kernels/python3
INSTALL_KERNEL := diff -rq jupyter/kernels/python3 $(KERNEL_DIR) >/dev/null 2>&1 || \
	$(BIN)/jupyter kernelspec install --sys-prefix --name python3 --log-level=WARN \
	jupyter/kernels/python3

install: $(STAMP) ## Create .venv and install the pinned environment (once)
	@$(INSTALL_KERNEL)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python found on PATH: install Python 3.13, 3.12 or 3.11 \
	(README.md, Platforms), or run: make PYTHON=/path/to/python3.13 ..."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else \
		"The course needs Python 3.11, 3.12 or 3.13 (those TensorFlow 2.21 supports); found " \
		+ sys.version.split()[0] + " (run: make PYTHON=/path/to/python3.13 ...)")'
	@start=$$(date +%s); \
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	$(BIN)/python -m pip install --quiet --upgrade pip && \
	$(BIN)/python -m pip install --quiet -e . && \
	echo "installed the course environment in $$(( $$(date +%s) - start )) s"
	@$(BIN)/python tools/check_env.py --repair || { echo "The course environment $(VENV) is still \
	incomplete after installing. Start it afresh with: rm -rf $(VENV) && make install"; exit 1; }
	@$(INSTALL_KERNEL)
	@touch $@

# A broken environment is repaired before use, and nothing is deleted: tools/check_env.py, run
# by the system Python (-I: a stray PYTHONHOME cannot stop it), moves a .venv whose Python is
# gone aside to be rebuilt, force-reinstalls a damaged package and reinstalls the pins when one
# is missing or re-versioned; another user's .venv, a stray PYTHONHOME/PYTHONPATH or an
# interpreter failing for another reason stops with what it found.
env-check:
	@$(PYTHON) -I tools/check_env.py --venv $(VENV)

# The course's Jupyter settings (jupyter/README.md): its kernel, which keeps library noise
# out of the outputs, and JupyterLab defaults (no news pop-up, the kernel starts unasked).
LAB_ENV := JUPYTER_PATH=$(CURDIR)/jupyter$(if $(JUPYTER_PATH),:$(JUPYTER_PATH))
LAB_SETTINGS := --LabApp.app_settings_dir=$(CURDIR)/jupyter/lab/settings

lab: env-check $(STAMP) ## Open the course in JupyterLab (PORT=8888; prints the URL with its token)
	$(LAB_ENV) $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) \
		--ServerApp.port_retries=0 --ServerApp.root_dir=course $(LAB_SETTINGS) $(ALLOW_ROOT) \
		$(LAB_ARGS)

test: env-check $(STAMP) ## Lint, check notebooks, unit tests, every notebook in quick mode
	$(BIN)/python tools/run_tests.py

course: $(STAMP) ## Run every notebook with papermill (full mode; QUICK=1, NOTEBOOK=05) into build/
	QUICK=$(QUICK) NOTEBOOK=$(NOTEBOOK) $(BIN)/python tools/run_course.py

site: $(STAMP) ## Render build/site/ (index, results, lessons) from the last make course
	$(BIN)/python tools/build_site.py

# The site test's JavaScript (axe-core), pinned in tools/site-js/package-lock.json; the test
# runs `make site-js` itself, so a clean clone's make test installs it (about 5 s, npm registry).
SITE_JS := tools/site-js/node_modules/.installed
site-js: $(SITE_JS)
$(SITE_JS): tools/site-js/package.json tools/site-js/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 18 or newer \
	(Debian: apt-get install nodejs npm) to check the site"; exit 1; }
	@cd tools/site-js && npm ci --ignore-scripts --no-audit --no-fund --silent
	@touch $@

test-latest: ## Upgrade guard: the suite with the newest TF, Keras, Lab... in .venv-latest
	$(PYTHON) tools/test_latest.py

student: $(STAMP) ## Write build/student/: the notebooks with exercise solutions removed
	$(BIN)/python tools/make_student.py

sync: $(STAMP) ## Regenerate each course/*.ipynb from its paired .py script (outputs cleared)
	$(BIN)/jupytext --sync course/[0-9][0-9]_*.py

data: $(STAMP) ## Download every dataset for offline use (DATASETS="mnist text8" for some)
	$(BIN)/python -m dlcourse.data fetch $(or $(DATASETS),all)

bench: $(STAMP) ## Run every speed benchmark in benchmarks/ (ratios measured in one run)
	@missed=""; for script in benchmarks/*.py; do echo "=== $$script"; \
		$(BIN)/python $$script || missed="$$missed $$script"; done; \
		if [ -n "$$missed" ]; then echo "goals missed or errors in:$$missed"; exit 1; fi

clean: ## Remove build outputs (keeps .venv and the data cache)
	rm -rf build
