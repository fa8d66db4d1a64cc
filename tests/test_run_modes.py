"""The README's ways to run scraper stay true to the files they quote."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_the_ci_workflow_runs_once_commits_posts_and_is_quoted_whole_in_the_readme() -> None:
    text = (ROOT / "examples" / "archive-workflow.yml").read_text(encoding="utf-8")
    assert text.rstrip("\n") in (ROOT / "README.md").read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"]
    steps = workflow["jobs"]["archive"]["steps"]
    runs = {step.get("name"): step.get("run", "") for step in steps}
    archive = next(step for step in steps if "scraper once" in step.get("run", ""))
    assert archive["continue-on-error"] is True  # the posts are committed even when a feed failed
    assert "git add _posts" in runs["Commit the new posts"] and "git push" in runs["Commit the new posts"]
    save = next(step for step in steps if step.get("uses", "").startswith("actions/cache/save"))
    assert save["if"] == "always()"
    assert steps[-1]["if"] == f"steps.{archive['id']}.outcome == 'failure'"


def test_the_readme_shows_the_container_and_a_crontab_line() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docker run -d --name scraper -v" in readme and "docker compose up -d" in readme
    cron = next(line for line in readme.splitlines() if line.startswith("*/30 * * * *"))
    assert "scraper once --config scraper.toml" in cron
