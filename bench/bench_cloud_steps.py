"""Whether `canary` on AWS can be fooled: many random rollout steps against the AWS behaviour model.

Each round deploys the prod example, then takes random steps with the real `canary --stack prod`
CLI (add a version and start its canary, promote, roll back, retire), each a real `pulumi up` of
the program applied as the provider would (tests/aws/). Faults are injected at random: SageMaker
rolls an endpoint update back (30 % of the steps that update it) and DescribeEndpoint is
throttled (10 % of all steps). After every step the truth is read from the model and compared
with what `canary` said:

- missed: a rollback reported as success, or the stage routing API traffic to a variant the
  endpoint does not run (targets: 0);
- false alarm: a healthy step that exited non-zero (target: 0);
- unchecked: a throttled check, said as such (the change stands, unverified, and a version whose
  update was not verified gets no API traffic);
- file drift: the stack file routing otherwise than the stage after a step (target: 0).

Run: .venv/bin/python bench/bench_cloud_steps.py [--rounds N] [--steps N] [--seed S]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from unittest import mock

import yaml
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from canary import cli, cloud, stacks  # noqa: E402
from canary.backends import CloudBackend  # noqa: E402
from tests.aws import clients  # noqa: E402
from tests.aws.pulumi_engine import ModelledStack  # noqa: E402
from tests.aws.sagemaker import SageMaker  # noqa: E402

ENDPOINT = "ratings-prod"
ROLLBACK_SHARE, THROTTLE_SHARE = 0.3, 0.1
REASON = "The primary container for production variant {version} did not pass the ping health check."


class Account:
    """The prod stack deployed in a modelled account, driven by the real CLI."""

    def __init__(self, project: Path):
        self.project, self.path = project, project / "Pulumi.prod.yaml"
        self.sagemaker = SageMaker()
        self.stack = ModelledStack(project, "prod", self.sagemaker)
        self.stack.up()
        self.next_version = 3

    def canary(self, *args: str):
        probe = cloud.SageMakerProbe(clients.client("sagemaker", self.sagemaker.handlers()))

        def for_stack(name, project_dir):
            return CloudBackend(stacks.PulumiStack(name, project_dir, select_stack=lambda n, d: self.stack,
                                                   probe_for_region=lambda region: probe))

        with mock.patch.object(cli, "for_stack", for_stack):
            return CliRunner().invoke(cli.main, ["--project-dir", str(self.project), "--stack", "prod", *args])

    def config(self) -> dict:
        return yaml.safe_load(self.path.read_text())["config"]

    def add_version(self) -> str:
        document = yaml.safe_load(self.path.read_text())
        models = document["config"]["ratings:models"]
        version = f"v{self.next_version}"
        self.next_version += 1
        models.append({**models[0], "name": version, "instanceCount": 1,
                       "modelData": f"s3://my-ratings-models/object2vec/{version}/model.tar.gz"})
        self.path.write_text(yaml.safe_dump(document, sort_keys=False))
        return version

    def running(self) -> set[str]:
        return {variant["VariantName"] for variant in self.sagemaker.endpoints[ENDPOINT].variants}

    def stage_routes(self) -> tuple[str, str | None]:
        (stage,) = self.stack.apigateway.stages.values()
        canary = (stage.get("canarySettings") or {}).get("stageVariableOverrides", {}).get("variant")
        return stage["variables"]["variant"], canary

    def file_routes(self) -> tuple[str, str | None]:
        routing = self.config()["ratings:routing"]
        return routing["live"], (routing.get("canary") or {}).get("version")


def _choose(account: Account, draw: random.Random) -> tuple[str, list[str], bool]:
    """A step a user could take now: (name, CLI args, whether it updates the endpoint)."""
    routing, models = account.config()["ratings:routing"], account.config()["ratings:models"]
    names = [model["name"] for model in models]
    canary = (routing.get("canary") or {}).get("version")
    idle = [name for name in names if name not in (routing["live"], canary, routing.get("previous"))]
    options = []
    if canary:
        options += [("promote", ["promote", "--force", "--yes"], False), ("rollback", ["rollback", "--yes"], False)]
    elif len(names) < 10:
        options.append(("start new", ["start", "NEW", "--percent", "10", "--yes"], True))
    if idle and not canary:
        version = draw.choice(idle)
        options.append(("retire", ["retire", version, "--yes"], True))
    return draw.choice(options)


def _one_round(seed: int, steps: int, tally: Counter, durations: list[float]) -> None:
    draw = random.Random(seed)
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        document = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
        document["config"]["ratings:routing"].pop("canary", None)
        (project / "Pulumi.prod.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
        account = Account(project)
        for _ in range(steps):
            _step(account, draw, tally, durations)


def _step(account: Account, draw: random.Random, tally: Counter, durations: list[float]) -> None:
    name, args, updates = _choose(account, draw)
    if args[1:2] == ["NEW"]:
        args[1] = account.add_version()
    injected = updates and draw.random() < ROLLBACK_SHARE
    throttled = draw.random() < THROTTLE_SHARE
    account.sagemaker.faults.update_fails = REASON.format(version=args[1]) if injected else None
    account.sagemaker.faults.throttled_describes = 10 if throttled else 0
    before = account.path.read_text()
    started = time.perf_counter()
    result = account.canary(*args)
    durations.append(time.perf_counter() - started)
    # the fault fires only if the step updated the endpoint (a retire whose configuration the
    # endpoint already runs, after an earlier rollback, does not)
    rolled_back = injected and account.sagemaker.faults.update_fails is None
    account.sagemaker.faults.update_fails, account.sagemaker.faults.throttled_describes = None, 0
    tally["steps"] += 1
    live, candidate = account.stage_routes()
    if not {live, candidate} - {None} <= account.running():
        tally["missed: traffic to a variant not running"] += 1
    unchecked = throttled and result.exit_code != 0 and "DescribeEndpoint failed" in result.output
    if rolled_back and unchecked:  # nothing verified: said so, and nothing was routed to the new fleet
        tally["rolled back while the check was throttled, said unchecked"] += 1
    elif rolled_back:
        tally["updates rolled back"] += 1
        said = result.exit_code != 0 and "rolled the update back" in result.output
        tally["rolled back, said" if said else "missed: rollback reported as success"] += 1
        if not said:
            print(f"missed on {' '.join(args)} (exit {result.exit_code}): {result.output.strip()[-300:]}",
                  file=sys.stderr)
    elif unchecked:
        tally["unchecked (throttled), said"] += 1
    elif result.exit_code != 0:
        tally["false alarm"] += 1
        print(f"false alarm on {name}: {result.output.strip().splitlines()[-1]}", file=sys.stderr)
    else:
        tally["healthy, passed"] += 1
    if account.file_routes() != (live, candidate):
        tally["file drift"] += 1
    if result.exit_code != 0 and account.path.read_text() == before:
        tally["file restored"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    tally: Counter = Counter()
    durations: list[float] = []
    for round_number in range(options.rounds):
        _one_round(options.seed * 1000 + round_number, options.steps, tally, durations)
        print(f"\rround {round_number + 1}/{options.rounds}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    width = max(map(len, tally))
    for key in sorted(tally):
        print(f"{key:<{width}}  {tally[key]:>5}")
    print(f"{'median step (model + mocks)':<{width}}  {statistics.median(durations) * 1000:>5.0f} ms")
    bad = sum(count for key, count in tally.items() if key.startswith("missed") or key in ("false alarm", "file drift"))
    print("PASS" if bad == 0 else f"FAIL: {bad} step(s) fooled canary or drifted")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
