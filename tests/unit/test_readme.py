"""CI must run exactly the test command that README.md tells a developer to run."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readme_test_command() -> None:
    ci_lines = [ln for ln in (ROOT / ".ci" / "run").read_text().splitlines() if "pytest" in ln]
    assert len(ci_lines) == 1, ".ci/run must hold one line that runs pytest"
    readme = (ROOT / "README.md").read_text()
    assert ci_lines[0].strip() in readme, "README.md's test command and .ci/run must be equal"


def test_readme_has_exactly_two_setup_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = [b for b in setup.split("```bash")[1:]]
    assert len(blocks) == 2
