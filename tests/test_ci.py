"""The GitHub Actions workflow: valid against the workflow schema (check-jsonschema, pinned in
the test extra, so `make test` installs it) and running the README's two commands."""

import subprocess
import sys

import yaml

from casestudy.paths import REPO_ROOT

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "ci.yml"


def test_workflow_is_valid_against_the_github_workflow_schema():
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(WORKFLOW)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_workflow_the_schema_rejects_fails_the_check(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    proc = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
                           str(bad)], capture_output=True, text=True)
    assert proc.returncode == 1


def steps(job: dict) -> list[dict]:
    return job["steps"]


def test_workflow_runs_the_two_commands_on_python_311_with_a_pip_cache_and_uploads_the_report():
    flow = yaml.safe_load(WORKFLOW.read_text())
    jobs = flow["jobs"]
    assert set(jobs) == {"test", "report"}
    for name, command in [("test", "make test"), ("report", "make report PROFILE=smoke")]:
        setup = next(s for s in steps(jobs[name]) if s.get("uses", "").startswith("actions/setup-python@"))
        assert setup["with"]["python-version"] == "3.11" and setup["with"]["cache"] == "pip"
        assert any(s.get("run", "").startswith(command) for s in steps(jobs[name])), (name, command)
    upload = next(s for s in steps(jobs["report"]) if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "runs/smoke/report/" and upload["if"] == "${{ always() }}"
    assert "make test" in (REPO_ROOT / ".ci" / "run").read_text()
