"""Install paths that exist (issue 12 item 7).

rulegen is not on PyPI, so the documented installs (the example GitHub Actions workflow, the
pre-commit hooks, README.md and docs/install.md) must name where it really lives: a git URL
pinned to a ref, or a local wheel. Never a bare name from an index, which whoever registers that
name would control. The documented `rev:` is the release tag `v` + the package version, and the
workflow's own install steps are run here, against this repository, to show they work.

The wheel path (build, install into a plain venv, generate without the source) is
tests/test_wheel.py; this file does not repeat it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from rulegen.cli import cli
from tests.conftest import EXAMPLE, ROOT
from tests.test_wheel import run

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

WORKFLOW = ROOT / "docs" / "ci" / "github-actions.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
INSTALL_MD = ROOT / "docs" / "install.md"
README = ROOT / "README.md"
# This repository as RULEGEN_REPO. With a host: the pip that `python -m venv` bundles (23.x)
# rejects `git+file:///path` (empty host) in a `name @ URL` requirement; git takes both.
REPO_URL = f"file://localhost{ROOT}"


# ---------------------------------------------------------------------------------------------
# helpers


def project_version() -> str:
    """The version pyproject.toml declares: [project].version, or hatch's dynamic version file."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    if "version" in project:
        return str(project["version"])
    assert "version" in project.get("dynamic", []), "pyproject.toml declares no version"
    path = ROOT / meta["tool"]["hatch"]["version"]["path"]
    m = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", path.read_text(), re.M)
    assert m, f"no __version__ in {path}"
    return m.group(1)


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(data, dict)
    return data


def steps(wf: dict[Any, Any]) -> list[dict[str, Any]]:
    return [s for job in wf["jobs"].values() for s in job["steps"]]


def step(wf: dict[Any, Any], name_starts: str) -> dict[str, Any]:
    [found] = [s for s in steps(wf) if str(s.get("name", "")).startswith(name_starts)]
    return found


def head_commit() -> str:
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip()


# `pip install`, `pip3 install`, `python -m pip install`, `uv pip install`, `pipx install`
PIP_INSTALL = re.compile(r"\b(?:pip3?|pipx)\s+install\b")
# pip's PEP 508 direct reference to git, pinned: `name[extras] @ git+scheme://host/path@ref`
GIT_PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(?:\[[^\]]*\])?\s*@\s*"
                        r"git\+(?P<url>[a-z][a-z+]*://\S+?)@(?P<ref>[A-Za-z0-9._-]+)$")
# options that fetch from an index or a file of requirements the check cannot see
FORBIDDEN = {"-r", "--requirement", "-e", "--editable", "-i", "--index-url", "--extra-index-url",
             "-f", "--find-links"}
TAKES_VALUE = {"-c", "--constraint", "-t", "--target", "--prefix", "--root", "--python",
               "--python-version", "--platform", "--cache-dir", "--log"}
VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def pip_install_args(script: str) -> list[list[str]]:
    """The arguments of every pip install in a shell script (up to ; && || | or line end)."""
    script = script.replace("\\\n", " ")
    found = []
    for line in script.splitlines():
        for m in PIP_INSTALL.finditer(line):
            lex = shlex.shlex(line[m.end():], posix=True, punctuation_chars=True)
            lex.whitespace_split = True
            lex.commenters = "#"
            args = []
            for tok in lex:
                if tok and set(tok) <= set("();<>|&"):
                    break
                args.append(tok)
            found.append(args)
    return found


def install_problems(script: str, env: dict[str, str]) -> list[str]:
    """Why each pip install in `script` could fetch rulegen (or anything) by bare name."""
    problems = []
    for args in pip_install_args(script):
        reqs: list[str] = []
        it = iter(args)
        for arg in it:
            opt = arg.split("=", 1)[0]
            if opt in FORBIDDEN:
                problems.append(f"{arg}: installs from an index or an unseen requirements file")
            elif opt in TAKES_VALUE and "=" not in arg:
                next(it, None)
            elif not arg.startswith("-"):
                reqs.append(VAR.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), arg))
        if not reqs:
            problems.append(f"pip install {shlex.join(args)}: installs nothing I can see")
        for req in reqs:
            g = GIT_PINNED.match(req)
            if g and "/" in g["url"].split("://", 1)[1] and "$" not in req:
                continue
            if req.endswith(".whl") and "://" not in req and "$" not in req:
                continue
            problems.append(f"{req!r}: neither `name @ git+URL@ref` nor a local .whl path")
    return problems


def fenced_shell_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```(?:sh|bash|shell|console)?\n(.*?)^```", markdown, re.M | re.S)


def rulegen_subcommands() -> set[str]:
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0, res.output
    commands = res.output.split("Commands:", 1)[1]
    return set(re.findall(r"^  (\S+)\s{2,}", commands, re.M))


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "PROMTOOL")}
    env.update(extra)
    return env


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A `run:` block as GitHub Actions runs it (`bash --noprofile --norc -eo pipefail`)."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


# ---------------------------------------------------------------------------------------------
# the checker itself: it must reject what the old workflow did


@pytest.mark.parametrize("script", [
    "pip install rulegen",                                             # the old workflow
    "pip install rulegen==0.1.0",
    "python -m pip install -U rulegen",
    "sudo apt-get update && pip3 install --quiet rulegen && echo ok",
    "python -m pip install \\\n    rulegen",
    "pip install 'rulegen @ git+https://git.example.invalid/o/rulegen.git'",  # not pinned
    "pip install 'rulegen @ git+ssh://git@git.example.invalid/o/rulegen.git'",  # not pinned
    "pip install 'rulegen @ git+${RULEGEN_REPO}@${NOT_SET}'",
    "pip install -r requirements.txt",
    "pip install --index-url https://pypi.example.invalid/simple ./rulegen-0.1.0-py3-none-any.whl",
    "pip install 'rulegen @ https://files.example.invalid/rulegen-0.1.0-py3-none-any.whl'",
    "uv pip install rulegen",
    "pipx install rulegen",
])
def test_checker_rejects_installs_by_bare_name_or_unpinned(script: str) -> None:
    assert install_problems(script, {"RULEGEN_REPO": "https://git.example.invalid/o/rulegen"})


@pytest.mark.parametrize("script", [
    'python -m pip install "rulegen @ git+https://git.example.invalid/o/rulegen.git@v0.1.0"',
    "pip install 'rulegen @ git+ssh://git@git.example.invalid/o/rulegen.git@" + "a" * 40 + "'",
    'pip install -q "rulegen @ git+${RULEGEN_REPO}@${RULEGEN_REF}"  # comment',
    "python -m pip install ./dist/rulegen-0.1.0-py3-none-any.whl && rulegen --version",
])
def test_checker_accepts_pinned_git_urls_and_local_wheels(script: str) -> None:
    env = {"RULEGEN_REPO": "https://git.example.invalid/o/rulegen.git", "RULEGEN_REF": "v0.1.0"}
    assert pip_install_args(script), "the checker did not see the install"
    assert install_problems(script, env) == []


# ---------------------------------------------------------------------------------------------
# the example workflow


def test_workflow_never_pip_installs_from_an_index() -> None:
    wf = workflow()
    env = {k: str(v) for k, v in wf["env"].items()}
    scripts = [str(s["run"]) for s in steps(wf) if "run" in s]
    installs = [a for s in scripts for a in pip_install_args(s)]
    assert installs, "the workflow installs rulegen somewhere"
    problems = [p for s in scripts for p in install_problems(s, env)]
    assert problems == []
    # and nothing else installs packages by name behind pip's back
    assert not any(re.search(r"\bapt(-get)?\s+install\b", s) for s in scripts), scripts


def test_workflow_pins_rulegen_to_a_release_tag_or_commit_set_at_the_top() -> None:
    wf = workflow()
    repo, ref = str(wf["env"]["RULEGEN_REPO"]), str(wf["env"]["RULEGEN_REF"])
    assert re.fullmatch(r"[a-z+]+://\S+/\S+", repo), repo
    # the shipped placeholder cannot resolve, so a copy fails until it is set
    assert ".invalid/" in repo and "CHANGE-ME" in repo
    assert ref == f"v{project_version()}" or re.fullmatch(r"[0-9a-f]{40}", ref), ref
    install = str(step(wf, "Install rulegen")["run"])
    assert '"rulegen @ git+${RULEGEN_REPO}@${RULEGEN_REF}"' in install
    # the variables are the workflow's first settings, where a user copying it looks
    text = WORKFLOW.read_text()
    assert text.index("RULEGEN_REPO:") < text.index("jobs:")


def test_workflow_promtool_is_the_pinned_release_from_rulegens_script() -> None:
    wf = workflow()
    assert re.fullmatch(r"\d+\.\d+\.\d+", str(wf["env"]["PROMETHEUS_VERSION"]))
    script = str(step(wf, "Install promtool")["run"])
    assert "GET_PROMTOOL_METHOD=tarball bash" in script
    assert '"$RULEGEN_REPO" "$RULEGEN_REF"' in script  # the script comes from the same ref
    assert (ROOT / "scripts" / "get-promtool.sh").is_file()
    assert "PROMETHEUS_VERSION" in (ROOT / "scripts" / "get-promtool.sh").read_text()


def test_workflow_fails_clearly_until_rulegen_repo_is_set(tmp_path: Path) -> None:
    wf = workflow()
    fake = tmp_path / "bin"
    fake.mkdir()
    marker = tmp_path / "pip-ran"
    for name in ("python", "pip", "rulegen"):
        (fake / name).write_text(f"#!/bin/sh\ntouch {marker}\n")
        (fake / name).chmod(0o755)
    env = clean_env(**{k: str(v) for k, v in wf["env"].items()})
    env["PATH"] = f"{fake}{os.pathsep}{env['PATH']}"
    p = run_step(str(step(wf, "Install rulegen")["run"]), tmp_path, env)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "::error::set RULEGEN_REPO" in p.stdout
    assert not marker.exists(), "pip ran with the placeholder URL"


# ---------------------------------------------------------------------------------------------
# the docs


def test_docs_never_pip_install_from_an_index() -> None:
    env = {k: str(v) for k, v in workflow()["env"].items()}
    seen = 0
    for doc in dict.fromkeys((README, INSTALL_MD, *sorted((ROOT / "docs").glob("*.md")))):
        for block in fenced_shell_blocks(doc.read_text()):
            seen += len(pip_install_args(block))
            assert install_problems(block, env) == [], f"{doc.relative_to(ROOT)}:\n{block}"
    assert seen >= 3  # README's git install, install.md's git and wheel installs


def test_precommit_hooks_run_real_rulegen_subcommands() -> None:
    hooks = yaml.safe_load(HOOKS.read_text())
    assert isinstance(hooks, list) and hooks
    ids = [h["id"] for h in hooks]
    assert len(ids) == len(set(ids)), ids
    commands = rulegen_subcommands()
    assert {"generate", "check", "lint"} <= commands, commands
    for hook in hooks:
        assert hook["language"] == "python", hook  # pre-commit pip-installs the repo at rev:
        prog, sub, *_ = shlex.split(hook["entry"])
        assert prog == "rulegen", hook
        assert sub in commands, f"{hook['id']}: `rulegen {sub}` is not a rulegen command"


def test_documented_rev_and_release_pins_are_v_plus_the_package_version() -> None:
    version = project_version()
    import rulegen
    assert rulegen.__version__ == version
    tag = f"v{version}"
    for doc in (HOOKS, INSTALL_MD):
        revs = re.findall(r"^[#\s]*rev:\s*(\S+)", doc.read_text(), re.M)
        assert revs, f"{doc.relative_to(ROOT)} documents no rev:"
        assert set(revs) == {tag}, f"{doc.relative_to(ROOT)}: rev: {revs}, want {tag}"
    # every release named in the install docs is this one (nothing left at an old tag)
    for doc in (HOOKS, INSTALL_MD, WORKFLOW, README):
        text = doc.read_text()
        assert set(re.findall(r"\bv(\d+\.\d+\.\d+)\b", text)) <= {version}, doc
        assert set(re.findall(r"\brulegen-(\d+\.\d+\.\d+)-py3", text)) <= {version}, doc
    assert f"rulegen, version {version}" in INSTALL_MD.read_text()
    assert f"git tag -a {tag}" in INSTALL_MD.read_text()


# ---------------------------------------------------------------------------------------------
# the workflow's install steps, run for real against this repository


@pytest.mark.slow
def test_workflow_install_step_installs_rulegen_from_the_pinned_git_url(tmp_path: Path) -> None:
    """The "Install rulegen" step, verbatim, into a plain venv (dependencies from the index),
    with RULEGEN_REPO = this repository (file://) and RULEGEN_REF = its HEAD commit."""
    wf = workflow()
    commit = head_commit()
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path)  # no --system-site-packages
    env = clean_env(RULEGEN_REPO=REPO_URL, RULEGEN_REF=commit)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env['PATH']}"
    work = tmp_path / "elsewhere"
    work.mkdir()

    p = run_step(str(step(wf, "Install rulegen")["run"]), work, env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"rulegen, version {project_version()}" in p.stdout

    # pip recorded the install as this repository at exactly that commit
    direct = json.loads(run(venv / "bin" / "python", "-c",
                            "import importlib.metadata as m; "
                            "print(m.distribution('rulegen').read_text('direct_url.json'))",
                            cwd=work, env=env))
    assert direct["vcs_info"]["vcs"] == "git"
    assert direct["vcs_info"]["commit_id"] == commit
    assert direct["url"] == REPO_URL

    # the installed console script has every subcommand the pre-commit hooks call, and works
    # from a directory with no checkout in reach
    helptext = run(venv / "bin" / "rulegen", "--help", cwd=work, env=env)
    for hook in yaml.safe_load(HOOKS.read_text()):
        assert f"  {shlex.split(hook['entry'])[1]} " in helptext, hook["id"]
    shutil.copy(EXAMPLE, work / "inventory.yaml")
    out = run(venv / "bin" / "rulegen", "generate", "inventory.yaml", cwd=work, env=env)
    assert "14 services" in out
    where = run(venv / "bin" / "python", "-c", "import rulegen; print(rulegen.__file__)",
                cwd=work, env=env)
    assert where.startswith(str(venv)), where


def _release_tarball(mirror: Path, version: str, tag: str) -> Path:
    """A stand-in for the official release at <mirror>/v<version>/: promtool and prometheus
    that print `tag`, and sha256sums.txt, laid out as get-promtool.sh expects."""
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower())
    if arch is None or not sys.platform.startswith("linux"):
        pytest.skip(f"no stand-in release for {sys.platform}/{platform.machine()}")
    name = f"prometheus-{version}.linux-{arch}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for binary in ("promtool", "prometheus"):
            body = f"#!/bin/sh\necho '{binary}, version {version} ({tag})'\n".encode()
            info = tarfile.TarInfo(f"{name}/{binary}")
            info.size, info.mode = len(body), 0o755
            tar.addfile(info, io.BytesIO(body))
    release = mirror / f"v{version}"
    release.mkdir(parents=True)
    (release / f"{name}.tar.gz").write_bytes(buf.getvalue())
    digest = hashlib.sha256(buf.getvalue()).hexdigest()
    (release / "sha256sums.txt").write_text(f"{digest}  {name}.tar.gz\n")
    return release / f"{name}.tar.gz"


@pytest.mark.skipif(shutil.which("curl") is None, reason="the file:// mirror needs curl")
def test_workflow_promtool_step_fetches_the_pinned_release_and_checks_it(tmp_path: Path) -> None:
    """The "Install promtool" step, verbatim: get-promtool.sh from this repository at HEAD, the
    PROMETHEUS_VERSION release from a local mirror, checksum checked, bin dir on GITHUB_PATH."""
    wf = workflow()
    version = str(wf["env"]["PROMETHEUS_VERSION"])
    script = str(step(wf, "Install promtool")["run"])
    mirror = tmp_path / "mirror"
    tarball = _release_tarball(mirror, version, "stand-in")
    # another version in the mirror that the pinned step must not pick up
    _release_tarball(mirror, "9.9.9", "wrong version")

    def attempt(name: str) -> tuple[subprocess.CompletedProcess[str], Path, Path]:
        runner_temp, github_path = tmp_path / name, tmp_path / f"{name}.path"
        runner_temp.mkdir()
        github_path.touch()
        env = clean_env(RULEGEN_REPO=REPO_URL, RULEGEN_REF=head_commit(),
                        PROMETHEUS_VERSION=version, PROMETHEUS_MIRROR=f"file://{mirror}",
                        RUNNER_TEMP=str(runner_temp), GITHUB_PATH=str(github_path))
        return run_step(script, tmp_path, env), runner_temp, github_path

    p, runner_temp, github_path = attempt("ok")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "checksum ok" in p.stderr
    bindir = runner_temp / "rulegen-tools" / "bin"
    assert github_path.read_text().splitlines() == [str(bindir)]
    out = subprocess.run([bindir / "promtool", "--version"], capture_output=True, text=True)
    assert out.stdout.strip() == f"promtool, version {version} (stand-in)"

    # a tampered release is refused, and nothing lands on PATH
    tarball.write_bytes(tarball.read_bytes() + b"\0")
    p, runner_temp, github_path = attempt("tampered")
    assert p.returncode != 0
    assert "checksum mismatch" in p.stderr
    assert github_path.read_text() == ""
    assert not (runner_temp / "rulegen-tools" / "bin" / "promtool").exists()
