"""The Dockerfile, read statically (no engine is needed): pinned bases, a builder and a slim runtime
stage, a non-root numeric user, nothing fetched by ADD, the one entrypoint every service runs."""

import io
import json
import re
from pathlib import Path

from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
EXACT_TAG = re.compile(r"^[\w.\-/]+:\d+\.\d+\.\d+[\w.\-]*(@sha256:[0-9a-f]{64})?$")
ENTRYPOINT = ["python", "-m", "oms.serve"]


def stages(text: str) -> list[list[dict]]:
    """The instructions of each stage, in order (comments dropped)."""
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))  # never the file in the cwd
    found: list[list[dict]] = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            found.append([])
        if item["instruction"] != "COMMENT" and found:
            found[-1].append(item)
    return found


def problems(text: str) -> list[str]:
    """What is wrong with a Dockerfile by this project's rules ([] when nothing)."""
    found, wrong = stages(text), []
    names = set()
    if len(found) < 2:
        wrong.append("fewer than two stages (a builder and a runtime)")
    for stage in found:
        image, _, alias = stage[0]["value"].partition(" AS ")
        image = re.sub(r"--platform=\S+\s+", "", image).strip()
        if image not in names and not EXACT_TAG.match(image):
            wrong.append(f"FROM {image}: not pinned to an exact version tag")
        names.add(alias.strip())
    for item in (item for stage in found for item in stage):
        if item["instruction"] == "ADD" and re.search(r"\b(https?|git)://|\.git\b", item["value"]):
            wrong.append(f"ADD fetches from the network: {item['value']}")
    final = found[-1] if found else []
    users = [i["value"] for i in final if i["instruction"] == "USER"]
    if not users or not re.fullmatch(r"[1-9]\d*(:\d+)?", users[-1]):
        wrong.append(f"the final stage's USER is not a non-zero numeric uid: {users}")
    if not any(i["instruction"] == "COPY" and "--from=" in i["value"] for i in final):
        wrong.append("the final stage copies nothing from the builder (COPY --from)")
    if not any(i["instruction"] == "HEALTHCHECK" for i in final):
        wrong.append("no HEALTHCHECK")
    entrypoints = [i["value"] for i in final if i["instruction"] == "ENTRYPOINT"]
    if not entrypoints or _exec_form(entrypoints[-1]) != ENTRYPOINT:
        wrong.append(f"ENTRYPOINT is not {json.dumps(ENTRYPOINT)}: {entrypoints}")
    return wrong


def _exec_form(value: str):
    try:
        return json.loads(value)
    except ValueError:
        return value  # shell form: a shell wraps the process and swallows SIGTERM


def test_the_dockerfile_follows_the_rules():
    assert problems((ROOT / "Dockerfile").read_text()) == []


def test_both_stages_share_one_base_so_the_venv_runs_in_the_runtime_stage():
    bases = {stage[0]["value"].partition(" AS ")[0] for stage in stages(_dockerfile())}
    assert len(bases) == 1


def test_the_dependencies_come_from_pyproject_where_they_are_pinned():
    text = _dockerfile()
    assert "COPY pyproject.toml" in text and "tomllib" in text
    dependencies = re.search(
        r"dependencies = \[(.*?)\]", (ROOT / "pyproject.toml").read_text(), re.S
    )
    assert all("==" in line for line in re.findall(r'"([^"]+)"', dependencies.group(1)))


def test_the_build_context_leaves_out_the_venv_var_and_git():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][:1] == ["*"]  # everything, then only what is built
    assert {"!pyproject.toml", "!shared/", "!services/", "!oms/"} <= set(ignored)


def test_broken_dockerfiles_are_refused():
    good = _dockerfile()
    base = "python:3.11.13-slim-bookworm"
    broken = [
        ("not pinned", good.replace(f"{base} AS builder", "python:latest AS builder")),
        ("not pinned", good.replace(f"FROM {base}\n", "FROM python\n")),  # untagged
        ("not pinned", good.replace(f"FROM {base}\n", "FROM python:3.11-slim\n")),  # moves
        ("non-zero numeric uid", good.replace("USER 10001:10001", "USER root")),
        ("non-zero numeric uid", good.replace("USER 10001:10001", "USER 0")),
        ("COPY --from", good.replace("COPY --from=builder /opt/oms", "COPY venv")),
        ("fetches", good.replace("COPY oms ./oms", "ADD https://example.com/oms.tar.gz ./")),
        ("HEALTHCHECK", re.sub(r"HEALTHCHECK[^\n]*\\\n[^\n]*\n", "", good)),
        ("ENTRYPOINT", good.replace('["python", "-m", "oms.serve"]', "python -m oms.serve")),
        ("two stages", good[good.index(f"FROM {base}\n") :]),
    ]
    for expected, text in broken:
        assert text != good, expected
        assert any(expected in problem for problem in problems(text)), (expected, problems(text))


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()
