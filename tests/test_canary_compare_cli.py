"""`canary compare` on the command line: every mistake is one line and a non-zero exit with
nothing written; against the running local API, a deliberately poor candidate fails the gate and
a genuine v2 passes against v1."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from canary.cli import main
from tests.conftest import RATINGS, free_port, free_port_block
from tests.stacks import ROOT
from tests.test_canary_cli import CANARY
from tests.test_local_e2e import LocalApi, _copy_version

GOOD_PAIRS = "user,item,rating\n1,10,4\n1,11,3\n2,10,5\n"
PAIRS_FILES = {
    "empty.csv": "",
    "comments.csv": "# nothing but a comment\n\n",
    "header-only.csv": "user,item,rating\n",
    "four-fields.csv": "1,10,4\n1,11,3,9\n",
    "text-id.csv": "one,10\n",
    "zero-id.csv": "0,10\n",
    "bad-rating.csv": "1,10,7\n",
    "good.csv": GOOD_PAIRS,
}


def _metadata(folder: Path, version: str, checksum: str = "0" * 64, split: str = "holdout-42") -> None:
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps({
        "format": "ratings-factorisation/1", "version": version,
        "data": {"checksum": checksum, "split": split, "train_ratings": 1, "test_ratings": 1}}))


@pytest.fixture
def project(tmp_path):
    values = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    values["config"]["ratings:local"] = {"artifacts": "artifacts", "runtimePort": free_port()}  # nothing listens
    (tmp_path / "Pulumi.local.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    (tmp_path / "Pulumi.dev.yaml").write_text((ROOT / "Pulumi.dev.yaml").read_text())
    for name, text in PAIRS_FILES.items():
        (tmp_path / name).write_text(text)
    _metadata(tmp_path / "other" / "v1", "v1")
    _metadata(tmp_path / "other" / "v2", "v2", split="holdout-7")
    _metadata(tmp_path / "wrong-data" / "v1", "v1")
    _metadata(tmp_path / "wrong-data" / "v2", "v2")
    (tmp_path / "unreadable" / "v1").mkdir(parents=True)
    (tmp_path / "unreadable" / "v1" / "metadata.json").write_text('{"format": "ratings-factorisation/1"}')
    return tmp_path


BAD = [
    (["compare", "v7"], 1, "v7 is not a configured model version (configured: v1, v2)"),
    (["compare", "v2", "--against", "v9"], 1, "v9 is not a configured model version"),
    (["compare", "v1"], 1, "v1 against itself compares nothing"),
    (["--stack", "dev", "compare"], 1, "no canary is running on stack dev; name the CANDIDATE"),
    (["compare", "--stack", "nope"], 1, "stack file"),
    (["compare", "--pairs", "missing.csv"], 1, "missing.csv: no such file"),
    (["compare", "--pairs", "empty.csv"], 1, "empty.csv: no pairs; write one `user,item[,rating]` per line"),
    (["compare", "--pairs", "comments.csv"], 1, "comments.csv: no pairs"),
    (["compare", "--pairs", "header-only.csv"], 1, "header-only.csv: no pairs"),
    (["compare", "--pairs", "four-fields.csv"], 1, "four-fields.csv, line 2: 4 fields; expected"),
    (["compare", "--pairs", "text-id.csv"], 1, "text-id.csv, line 1: ids must be integers"),
    (["compare", "--pairs", "zero-id.csv"], 1, "zero-id.csv, line 1: ids must be positive"),
    (["compare", "--pairs", "bad-rating.csv"], 1, "bad-rating.csv, line 1: rating 7 outside 1..5"),
    (["compare", "--pairs", "."], 1, "cannot read it"),
    (["compare", "--sample", "0"], 2, "0 is not in the range x>=1"),
    (["compare", "--min-rank-agreement", "2"], 2, "2.0 is not in the range -1<=x<=1"),
    (["compare"], 1, "v1: no metadata.json in"),
    (["compare", "--artifacts", "other"], 1, "v1 and v2 were evaluated on different hold-outs"),
    (["compare", "--artifacts", "wrong-data"], 1, "are not the data v2 was trained on"),
    (["compare", "--artifacts", "unreadable"], 1, "not a trained version's metadata (no data.checksum and data.split)"),
    (["compare", "--pairs", "good.csv", "--budget", "1"], 1,
     "2 invocations needed (1 per version, 2 versions), more than the budget of 1"),
    (["compare", "--pairs", "good.csv", "--plot", "out.png"], 1, "cannot reach the local runtime at"),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD, ids=[" ".join(a)[:50] for a, _, _ in BAD])
def test_bad_input_is_one_line_and_writes_nothing(project, monkeypatch, args, code, message):
    monkeypatch.chdir(project)
    before = sorted(path.name for path in project.rglob("*"))
    result = CliRunner().invoke(main, ["--project-dir", str(project), *args])
    assert result.exit_code == code, result.output
    assert message in result.output
    assert isinstance(result.exception, SystemExit), "no traceback"
    assert sorted(path.name for path in project.rglob("*")) == before, "nothing written"


# --- against the running local API with trained versions --------------------------------------------

# Far fewer steps than v2.yaml (300 epochs, 140 iterations): measured 0.932 hold-out RMSE against
# v1's 0.920, within the gate's 0.02 margin, as a real next version should be.
V2_SETTINGS = ["--set", "autorec.epochs=120", "--set", "bpmf.iterations=60", "--set", "bpmf.burn_in=10"]
# Deliberately poor: a rank-2 served factorisation after a few epochs (measured 1.149, worse than
# predicting the global mean).
POOR_SETTINGS = ["--set", "rank=2", "--set", "autorec.epochs=5", "--set", "bpmf.iterations=10",
                 "--set", "bpmf.burn_in=2"]
TRAIN_SECONDS = 900
# each training's BLAS on one thread, as `ratings train --jobs` does, so three trainings on two cores
# do not oversubscribe them
BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@pytest.fixture(scope="module")
def compared_api(request, tmp_path_factory):
    """v1 (the session's), v2 and a poor v3 trained side by side, served by `ratings local up`."""
    out = tmp_path_factory.mktemp("versions")
    one_thread = {**os.environ, **{name: "1" for name in BLAS_THREADS}}  # two trainings next to v1's
    jobs = [subprocess.Popen([RATINGS, "train", version, "--out", str(out), "--quiet", *settings],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=one_thread)
            for version, settings in (("v2", V2_SETTINGS), ("v3", POOR_SETTINGS))]
    trained = request.getfixturevalue("trained")  # trains v1 meanwhile, unless done already
    for job in jobs:
        output, _ = job.communicate(timeout=TRAIN_SECONDS)
        assert job.returncode == 0, output
    project = tmp_path_factory.mktemp("compare-project")
    values = yaml.safe_load((ROOT / "Pulumi.local.yaml").read_text())
    config = values["config"]
    config["ratings:models"].append({**config["ratings:models"][1], "name": "v3",
                                     "modelData": "s3://my-ratings-models/local/v3/model.tar.gz"})
    config["ratings:routing"] = {"live": "v1", "canary": {"version": "v3", "percent": 10}}
    base = free_port_block(5)
    config["ratings:local"] = {"artifacts": "artifacts", "gatewayPort": base, "runtimePort": base + 1,
                               "modelPortBase": base + 2}
    (project / "Pulumi.local.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
    _copy_version(trained["folder"], project / "artifacts" / "v1", "v1")
    for version in ("v2", "v3"):
        _copy_version(out / version, project / "artifacts" / version, version)
    api = LocalApi(project)
    yield api
    api.stop()


def compare_on(api: LocalApi, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CANARY, "--project-dir", str(api.project), "compare", *args], capture_output=True,
                          text=True, timeout=300, cwd=api.project)


def test_a_poor_candidate_fails_the_gate(compared_api):
    plot = compared_api.project / "poor.png"
    done = compare_on(compared_api, "--plot", str(plot))  # the running canary, v3, against live v1
    assert done.returncode == 3, done.stdout + done.stderr
    assert "about to send 2 invocations (1 per version, 9,430 pairs" in done.stdout
    assert "9,430 pairs of 943 users: the hold-out v3 was evaluated on (holdout-42" in done.stdout
    assert "verdict: fail (candidate RMSE" in done.stdout
    rmse = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line.startswith("RMSE")}
    live, candidate = (float(value) for value in rmse["RMSE"])
    recorded = json.loads((compared_api.project / "artifacts" / "v1" / "metadata.json").read_text())
    assert live == pytest.approx(recorded["metrics"]["rmse"]["ours (BPMF + AutoRec blend)"], abs=1e-4), \
        "the served v1 scores on the regenerated hold-out what training recorded"
    assert candidate > live + 0.1
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in compared_api.project.iterdir() if p.name.startswith(".")] in ([], [".cache"])


def test_v2_against_v1_passes(compared_api):
    done = compare_on(compared_api, "v2", "--against", "v1", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "pass", report["reasons"]
    assert (report["live"]["version"], report["candidate"]["version"]) == ("v1", "v2")
    assert report["candidate"]["rmse"] - report["live"]["rmse"] <= report["thresholds"]["maxRmseIncrease"]
    assert report["rankAgreement"]["users"] == 943
    assert "about to send" in done.stderr, "messages go to standard error with --json"


def _strangers(project: Path) -> Path:
    pairs = project / "strangers.csv"
    known = "\n".join(f"{user},{item},4" for user in range(1, 101) for item in (1, 2, 3, 4, 5, 6))
    pairs.write_text(f"{known}\n999999,1,3\n999999,2,3\n1,999999,3\n")  # 3 of 603 pairs: unseen ids
    return pairs


def test_fallback_answers_are_counted_from_the_versions_known_ids(compared_api):
    done = compare_on(compared_api, "v2", "--pairs", str(_strangers(compared_api.project)), "--json")
    report = json.loads(done.stdout)
    assert report["sample"]["pairs"] == 603
    assert report["candidate"]["fallbackShare"] == pytest.approx(3 / 603)
    assert report["live"]["fallbackShare"] == pytest.approx(3 / 603)


def test_boto3_asks_the_local_runtime_what_the_local_source_asks(compared_api):
    """The AWS source with a real boto3 client pointed at the local runtime: same answers."""
    import boto3

    from canary import compare_sample
    from canary.prediction_sources import Budget, LocalRuntimeSource, SageMakerSource, plan_batches, predict

    data = compare_sample.pairs_file(_strangers(compared_api.project))
    batches = plan_batches(data, 250)
    client = boto3.client("sagemaker-runtime", region_name="eu-west-1", endpoint_url=compared_api.runtime,
                          aws_access_key_id="test", aws_secret_access_key="test")
    endpoint = yaml.safe_load(compared_api.stack_file.read_text())["config"]["ratings:endpoint"]["name"]
    by_boto3 = predict(SageMakerSource(client, endpoint), "v2", data, batches, Budget(len(batches)))
    by_http = predict(LocalRuntimeSource(compared_api.runtime, endpoint), "v2", data, batches, Budget(len(batches)))
    assert len(batches) == 3 and by_boto3.predictions.tolist() == by_http.predictions.tolist()


def test_a_small_sample_is_inconclusive(compared_api):
    done = compare_on(compared_api, "v2", "--sample", "50")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "verdict: inconclusive (only 50 pairs compared, 500 needed)" in done.stdout


def test_an_automated_run_rolls_a_poor_candidate_back_on_its_predictions(compared_api):
    """After the tests above, which compare the running v3 canary by default: this run ends it."""
    done = subprocess.run([CANARY, "--project-dir", str(compared_api.project), "run", "v3", "--steps", "20,50",
                           "--bake", "2s", "--interval", "1s", "--quality"], capture_output=True, text=True,
                          timeout=300, cwd=compared_api.project)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "about to send 190 invocations (95 per version, 9,430 pairs" in done.stdout, "API-sized requests"
    assert "quality gate: fail (candidate RMSE" in done.stdout
    assert "rolled back: quality fail: candidate RMSE" in done.stdout
    assert "set canary weight" not in done.stdout, "judged before any traffic is sent"
    routing = yaml.safe_load(compared_api.stack_file.read_text())["config"]["ratings:routing"]
    assert routing.get("canary") is None and routing["live"] == "v1"
    recorded = json.loads((compared_api.project / "Pulumi.local.canary-run.json").read_text())
    assert [(v["kind"], v["verdict"]) for v in recorded["verdicts"]] == [("quality", "fail")]
    assert recorded["status"] == "rolled back"


def test_promotion_refuses_a_candidate_whose_predictions_fail(compared_api):
    """After the run above rolled v3 back: v3 takes all traffic, its metrics pass, its predictions do not."""
    started = subprocess.run([CANARY, "--project-dir", str(compared_api.project), "start", "v3", "--percent", "100"],
                             capture_output=True, text=True, timeout=120, cwd=compared_api.project)
    assert started.returncode == 0, started.stdout + started.stderr
    deadline = time.monotonic() + 30
    served = []
    while len(served) < 20 and time.monotonic() < deadline:  # until the gateway routes to v3
        status, headers, _ = compared_api.get("/local/predicted-ratings/1?items=5,6")
        if status == 200 and headers.get("x-model-version") == "v3":
            served.append(status)
    assert len(served) == 20
    done = subprocess.run([CANARY, "--project-dir", str(compared_api.project), "promote", "--quality",
                           "--min-requests", "10"], capture_output=True, text=True, timeout=300,
                          cwd=compared_api.project)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "analysis: pass" in done.stdout
    assert "refused: quality gate is fail (candidate RMSE" in done.stderr
    routing = yaml.safe_load(compared_api.stack_file.read_text())["config"]["ratings:routing"]
    assert routing["live"] == "v1" and routing["canary"]["version"] == "v3", "nothing promoted"
