#!/usr/bin/env python3
"""The CI files a user copies (examples/ci/) and the project's own workflow
(.github/workflows/ci.yml): each is valid YAML, has the shape its system
needs, and every syncsim command line in it is accepted by the binary's own
option parser (SYNCSIM_CHECK_ARGS=1: parse, then exit without running), with
the variables that system sets in each job, and names a scenario file that
exists.

Usage: tests/ci-examples.py path/to/syncsim   (run from the source root)
"""
import os
import re
import shlex
import subprocess
import sys

import yaml

BIN = sys.argv[1]
failures = []


def fail(message):
    failures.append(message)
    print("FAIL: " + message)


# Every shard variable any engine sets: the suite itself may run inside a CI job.
ENGINE_VARS = ["JOB_COMPLETION_INDEX", "CI_NODE_INDEX", "CI_NODE_TOTAL", "BUILDKITE_PARALLEL_JOB",
               "BUILDKITE_PARALLEL_JOB_COUNT", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
               "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_MAX", "SLURM_ARRAY_TASK_STEP", "CIRCLE_NODE_INDEX",
               "CIRCLE_NODE_TOTAL"]


def strings(node):
    """Every string scalar in a loaded document."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


def command_lines(text):
    """syncsim invocations in shell text: continuation lines joined, up to the next shell operator."""
    text = text.replace("\\\n", " ")
    found = []
    for line in text.split("\n"):
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        for i, w in enumerate(words):
            if w == "syncsim" or w.endswith("/syncsim"):
                if i > 0 and words[i - 1] in ("--node", "-f", "name:"):
                    continue
                cmd = []
                for x in words[i + 1:]:
                    if x in ("&&", "||", "|", ";", ">", ">>", "2>", "&"):
                        break
                    cmd.append(x)
                if cmd and not cmd[0].startswith("-") and re.fullmatch(r"[a-z]+", cmd[0]):
                    found.append(cmd)
    return found


def shell_texts(docs):
    """The text each system runs as shell: GitHub steps' run:, GitLab's script lists, Kubernetes containers'."""
    for d in docs:
        for job in (d.get("jobs") or {}).values():          # GitHub Actions
            for step in job.get("steps", []):
                if "run" in step:
                    yield step["run"]
        for key, job in d.items():                          # GitLab CI (default: holds before_script)
            if isinstance(job, dict):
                for part in ("before_script", "script", "after_script"):
                    for line in job.get(part, []) or []:
                        yield line
        if d.get("kind") == "Job":                          # Kubernetes: command and args, as the shell gets them
            for c in d["spec"]["template"]["spec"]["containers"]:
                argv = list(c.get("command", [])) + list(c.get("args", []))
                yield argv[-1] if argv[:2] == ["sh", "-c"] else shlex.join(argv)


def check_file(path, expressions, env, shape):
    try:
        with open(path) as f:
            docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        fail(f"{path}: not valid YAML: {e}")
        return 0
    if not docs:
        fail(f"{path}: no YAML document")
        return 0
    problem = shape(docs)
    if problem:
        fail(f"{path}: {problem}")
    checked = 0
    for text in shell_texts(docs):
        # ${{ ... }} expressions (GitHub) become the values one job of the matrix sees.
        def expression(m):
            key = m.group(1).strip()
            if key not in expressions:
                fail(f"{path}: no value for the expression ${{{{ {key} }}}}; add one to this test")
                return "0"
            return expressions[key]
        text = re.sub(r"\$\{\{(.*?)\}\}", expression, text)
        for cmd in command_lines(text):
            # Shell variables: the job's own (env), else left as written (a file name still parses).
            cmd = [re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: env.get(m.group(1), m.group(0)), w)
                   for w in cmd]
            run_env = {k: v for k, v in os.environ.items() if k not in ENGINE_VARS}
            run_env.update(env)
            run_env["SYNCSIM_CHECK_ARGS"] = "1"
            r = subprocess.run([BIN] + cmd, env=run_env, capture_output=True, text=True)
            shown = "syncsim " + " ".join(cmd)
            if r.returncode != 0:
                fail(f"{path}: `{shown}` is refused (exit {r.returncode}): {r.stderr.strip().splitlines()[0]}")
                continue
            checked += 1
            # The scenario a command names exists in the source tree (installed copies: under share/syncsim).
            if cmd[0] in ("run", "sweep", "grid", "shrink"):
                scenario = cmd[1]
                local = scenario.split("/share/syncsim/", 1)[-1]
                if not os.path.isfile(local):
                    fail(f"{path}: `{shown}` names {scenario}, which is not in the source tree ({local})")
    return checked


def github(docs):
    (d,) = docs
    if not isinstance(d.get("jobs"), dict) or True not in d and "on" not in d:
        return "a workflow needs on: and jobs:"
    for name, job in d["jobs"].items():
        if "runs-on" not in job or not isinstance(job.get("steps"), list):
            return f"job {name} needs runs-on: and steps:"
        for step in job["steps"]:
            if ("run" in step) == ("uses" in step):
                return f"job {name}: a step has neither or both of run: and uses: ({step})"
    return None


def gitlab(docs):
    (d,) = docs
    jobs = {k: v for k, v in d.items() if isinstance(v, dict) and "script" in v}
    if not jobs:
        return "no job with a script:"
    stages = d.get("stages", [])
    for name, job in jobs.items():
        if job.get("stage") not in stages:
            return f"job {name}'s stage is not in stages: {stages}"
    if not any(job.get("parallel") for job in jobs.values()):
        return "no parallel: job (the sweep's shards)"
    return None


def kubernetes(docs):
    kinds = [d.get("kind") for d in docs]
    for d in docs:
        if not d.get("apiVersion") or not d.get("kind") or not d.get("metadata", {}).get("name"):
            return "every document needs apiVersion, kind and metadata.name"
        if d["kind"] == "Job":
            spec = d["spec"]
            if spec["template"]["spec"].get("restartPolicy") not in ("Never", "OnFailure"):
                return f"Job {d['metadata']['name']}: restartPolicy must be Never or OnFailure"
            if spec.get("completionMode") == "Indexed":
                n = spec.get("completions")
                args = " ".join(c for c in strings(spec["template"]))
                m = re.search(r"--shard auto/(\d+)", args)
                if not m or int(m.group(1)) != n:
                    return f"Indexed Job {d['metadata']['name']}: --shard auto/N must say completions ({n})"
    if "Job" not in kinds:
        return "no Job"
    return None


def workflow(docs):
    problem = github(docs)
    if problem:
        return problem
    runs = [s.get("run", "") for job in docs[0]["jobs"].values() for s in job["steps"]]
    if not any(re.search(r"(^|\s)make test(\s|$)", r) for r in runs):
        return "the project's workflow does not run make test"
    if not any(job.get("container") == "debian:12" for job in docs[0]["jobs"].values()):
        return "the project's workflow does not run in a Debian 12 container"
    return None


GITHUB_EXPRESSIONS = {"matrix.shard": "2", "strategy.job-total": "4"}
checks = [
    ("examples/ci/github-actions.yml", GITHUB_EXPRESSIONS, {"GITHUB_STEP_SUMMARY": "/tmp/summary.md"}, github, 3),
    ("examples/ci/gitlab-ci.yml", {}, {"CI_NODE_INDEX": "2", "CI_NODE_TOTAL": "4"}, gitlab, 3),
    ("examples/ci/kubernetes-job.yaml", {}, {"JOB_COMPLETION_INDEX": "3"}, kubernetes, 1),
    ("examples/ci/kubernetes-report.yaml", {}, {}, kubernetes, 2),
    (".github/workflows/ci.yml", {}, {}, workflow, 0),
]
for path, expressions, env, shape, expected in checks:
    n = check_file(path, expressions, env, shape)
    if n != expected:
        fail(f"{path}: {n} syncsim command lines checked, expected {expected}")
    else:
        print(f"{path}: valid; {n} syncsim command line{'s' if n != 1 else ''} accepted")

# Every file under examples/ci/ that is YAML is checked above.
listed = {c[0] for c in checks}
for name in sorted(os.listdir("examples/ci")):
    path = "examples/ci/" + name
    if name.endswith((".yml", ".yaml")) and path not in listed:
        fail(f"{path} is not checked by this test")

if failures:
    print(f"ci-examples: {len(failures)} failure(s)")
    sys.exit(1)
print("ci-examples: every CI file is valid YAML and every syncsim command in it is accepted")
