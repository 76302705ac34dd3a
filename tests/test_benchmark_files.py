"""The benchmark files a notebook reads: found locally, fetched from the repository, or
one line saying what is missing."""

import json
import os
import urllib.error

import pytest

from sasrec_utils.report import benchmark_files
from sasrec_utils.report.benchmark_files import find_benchmark, raw_url

REPOSITORY = "https://github.com/owner/project"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A working directory outside any checkout, and a package installed from a wheel, as
    on Colab."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(benchmark_files, "PACKAGE_CHECKOUT", tmp_path / "site-packages")
    return tmp_path


def test_raw_url_comes_from_the_github_address():
    assert raw_url(REPOSITORY + ".git", "benchmark.json") == (
        "https://raw.githubusercontent.com/owner/project/main/reports/benchmark.json"
    )
    with pytest.raises(ValueError, match="not https://github"):
        raw_url("https://gitlab.com/a/b", "benchmark.json")


def test_the_report_folder_then_the_checkouts_reports_are_read_first(elsewhere):
    (elsewhere / "reports").mkdir()
    (elsewhere / "reports" / "b.json").write_text('{"where": "checkout"}')
    (elsewhere / "pyproject.toml").write_text('[project]\nname = "sasrec_utils"\n')
    never = lambda url: pytest.fail("fetched although the file is here")  # noqa: E731
    run = elsewhere / "run"
    assert find_benchmark("b.json", run, REPOSITORY, fetch=never) == {"where": "checkout"}
    run.mkdir()
    (run / "b.json").write_text('{"where": "run"}')
    assert find_benchmark("b.json", run, REPOSITORY, fetch=never) == {"where": "run"}


def test_a_missing_file_is_fetched_from_the_repository_and_kept(elsewhere, capsys):
    asked = []

    def fetch(url):
        asked.append(url)
        return json.dumps({"dataset": "amazon-beauty"})

    found = find_benchmark("benchmark_beauty.json", "reports", REPOSITORY, fetch=fetch)
    assert found == {"dataset": "amazon-beauty"}
    assert asked == [raw_url(REPOSITORY, "benchmark_beauty.json")]
    assert json.loads((elsewhere / "reports" / "benchmark_beauty.json").read_text()) == found
    assert "fetched from https://raw.githubusercontent.com/" in capsys.readouterr().out


def test_when_it_cannot_be_had_one_line_says_what_and_how(elsewhere, capsys):
    def offline(url):
        raise urllib.error.URLError("no network")

    found = find_benchmark(
        "benchmark_beauty.json",
        "reports",
        REPOSITORY,
        fetch=offline,
        make_target="make bench-beauty",
    )
    said = capsys.readouterr().out.strip()
    assert found is None and len(said.splitlines()) == 1
    assert "benchmark_beauty.json not found" in said and "URLError" in said
    assert "`make bench-beauty`" in said and "upload" in said
    assert find_benchmark("b.json", "reports", None) is None
    assert "no repository address" in capsys.readouterr().out
    assert not os.path.exists(elsewhere / "reports" / "benchmark_beauty.json")


def test_a_run_outside_the_checkout_reads_the_checkouts_committed_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # as papermill with --cwd elsewhere
    never = lambda url: pytest.fail("fetched although the checkout has it")  # noqa: E731
    found = find_benchmark("benchmark_beauty.json", tmp_path, REPOSITORY, fetch=never)
    assert found is not None and "summaries" in found
