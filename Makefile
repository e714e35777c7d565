# The course's commands. Quick start: `make lab` (open the course), `make test` (validate it).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: sync
sync: $(STAMP) ## Regenerate each course/*.ipynb from its paired .py script
	$(BIN)/jupytext --sync course/*.py
