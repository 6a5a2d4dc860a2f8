"""A lifecycle model of the Pulumi program: what `pulumi up` would do between two stack configs.

The program runs under mocks once per config. Auto-named resources get a name suffix derived
from their replace-triggering inputs (tests/replace_triggers.py), so a replacement changes the
physical name and id as it does on AWS, and the change ripples into every resource that
refers to it. Each resource is then classified none / update / replace / create / delete.

A rollout is built with the same plan functions and stack-file writer the ``canary`` CLI applies
(core.plans, core.stack_file).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import pulumi
import yaml

from core import config as stack_config
from core import plans as plan
from core import stack_file
from tests import pulumi_mocks
from tests.pulumi_mocks import RecordingMocks, Registered, run_program
from tests.replace_triggers import IGNORED_INPUTS, trigger_values
from tests.stacks import DELETE, example, with_change

Key = tuple[str, str]  # (type token, logical name)


class Change(StrEnum):
    NONE = "none"
    UPDATE = "update"
    REPLACE = "replace"
    CREATE = "create"
    DELETE = "delete"


class StepKind(StrEnum):
    DEPLOY = "deploy"  # first `pulumi up`
    FLIP = "flip"  # start, set, promote, rollback: routing only
    VERSIONS = "versions"  # add or retire a model version


@dataclass(frozen=True)
class Step:
    label: str
    kind: StepKind
    values: dict[str, Any]


class LifecycleMocks(RecordingMocks):
    """Mocks whose auto-names change exactly when a replace-triggering input changes."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        identity = json.dumps(trigger_values(args.typ, dict(args.inputs)), sort_keys=True, default=str)
        suffix = hashlib.sha256(f"{args.name}|{identity}".encode()).hexdigest()[:7]
        outputs = pulumi_mocks.realistic_outputs(args, suffix)
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), outputs))
        return f"{args.name}-{suffix}", outputs


def deploy(values: dict[str, Any]) -> dict[Key, Registered]:
    """The resources `pulumi up` would leave for ``values`` (one program run per distinct config)."""
    return _deploy(json.dumps(values, sort_keys=True))[0]


def deploy_with_exports(values: dict[str, Any]) -> tuple[dict[Key, Registered], dict[str, Any]]:
    """The resources and the stack outputs of ``values``."""
    resources, exports = _deploy(json.dumps(values, sort_keys=True))
    return resources, dict(exports)


@functools.cache
def _deploy(values_json: str) -> tuple[dict[Key, Registered], dict[str, Any]]:
    mocks = run_program(json.loads(values_json), stack="prod", mocks=LifecycleMocks())
    return {(r.type, r.name): r for r in mocks.resources}, mocks.exports


def _comparable(inputs: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in inputs.items() if key not in IGNORED_INPUTS}


def classify(before: Registered, after: Registered) -> Change:
    if trigger_values(before.type, before.inputs) != trigger_values(after.type, after.inputs):
        return Change.REPLACE
    return Change.UPDATE if _comparable(before.inputs) != _comparable(after.inputs) else Change.NONE


def changes(before: dict[Key, Registered], after: dict[Key, Registered]) -> dict[Key, Change]:
    """Every resource of either deployment with what `pulumi up` does to it."""
    result = {key: Change.DELETE for key in before.keys() - after.keys()}
    result.update({key: Change.CREATE for key in after.keys() - before.keys()})
    result.update({key: classify(before[key], with_ignored(before[key], after[key]))
                   for key in before.keys() & after.keys()})
    return result


def with_ignored(before: Registered | None, after: Registered) -> Registered:
    """``after`` as the update sees it under its ``ignore_changes``: each ignored path that the
    state holds takes the state's value (pulumi-terraform-bridge, pkg/tfbridge/ignore_changes_test.go,
    TestIgnoreChanges_UsesOlds: "items.weight" on a MaxItems-1 block diffs as no change and updates
    with the old value); a path the state lacks, as when the block is created, keeps the new value."""
    if before is None or not after.ignore_changes:
        return after
    inputs = copy.deepcopy(after.inputs)
    for path in after.ignore_changes:
        *parents, leaf = path.split(".")
        old, new = before.inputs, inputs
        for part in parents:
            old = old.get(part) if isinstance(old, dict) else None
            new = new.get(part) if isinstance(new, dict) else None
        if isinstance(old, dict) and isinstance(new, dict) and leaf in old:
            new[leaf] = old[leaf]
    return Registered(after.type, after.name, inputs, after.outputs, after.ignore_changes)


def _apply(values: dict[str, Any], make_change) -> dict[str, Any]:
    """The stack values after a plan is written into a stack file holding ``values``."""
    document = stack_file.parse(Path("Pulumi.prod.yaml"), yaml.safe_dump({"config": values}, sort_keys=False))
    written = plan.written(document, make_change(document.config))
    return dict(stack_file.parse(document.path, written.text).values)


def _with_version(values: dict[str, Any], version: str) -> dict[str, Any]:
    changed = copy.deepcopy(values)
    model = dict(changed[stack_config.MODELS_KEY][-1], name=version,
                 modelData=f"s3://my-ratings-models/factorization/{version}/model.tar.gz")
    changed[stack_config.MODELS_KEY].append(model)
    return changed


def rollout(sticky: bool, base: dict[str, Any] | None = None) -> list[Step]:
    """fresh -> add v3 -> canary 10 % -> 50 % -> promote -> rollback -> canary -> promote
    -> retire v1 -> four more versions in one step (six on the endpoint); from the prod example,
    or from ``base`` (its values)."""
    start = base if base is not None else example("prod")
    steps = [Step("fresh", StepKind.DEPLOY, with_change(start, "ratings:routing.canary", DELETE))]

    def then(label: str, kind: StepKind, values: dict[str, Any]) -> None:
        steps.append(Step(label, kind, values))

    then("add v3", StepKind.VERSIONS, _with_version(steps[-1].values, "v3"))
    then("canary v3 10 %", StepKind.FLIP, _apply(steps[-1].values, lambda c: plan.start(c, "v3", 10, sticky)))
    then("canary v3 50 %", StepKind.FLIP, _apply(steps[-1].values, lambda c: plan.set_percent(c, 50)))
    then("promote v3", StepKind.FLIP, _apply(steps[-1].values, plan.promote))
    then("roll back to v1", StepKind.FLIP, _apply(steps[-1].values, plan.rollback))
    then("canary v3 again", StepKind.FLIP, _apply(steps[-1].values, lambda c: plan.start(c, "v3", 10, sticky)))
    then("promote v3 again", StepKind.FLIP, _apply(steps[-1].values, plan.promote))
    then("retire v1", StepKind.VERSIONS, _apply(steps[-1].values, lambda c: plan.retire(c, "v1")))
    six = steps[-1].values
    for version in ("v4", "v5", "v6", "v7"):
        six = _with_version(six, version)
    then("six versions", StepKind.VERSIONS, six)
    return steps
