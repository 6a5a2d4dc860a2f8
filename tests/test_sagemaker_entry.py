"""The packaged model.tar.gz under the serving library of the image it runs on.

SageMaker's scikit-learn image serves ``code/inference.py`` with ``sagemaker-containers``
(aws/sagemaker-scikit-learn-container ``src/sagemaker_sklearn_container/serving.py``). This runs
the real library, ``sagemaker-containers==2.8.6.post2`` from PyPI, in its own environment
(tests/sklearn_image_env.py) and checks that refusals keep their status and a JSON body there:
a 500 would reach clients as 502 and count against the version's canary.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile

import pytest

from tests import sklearn_image_env
from tests.model_fixtures import save_tiny
from training import package

DRIVER_TIMEOUT = 120  # seconds; the run itself takes about two


@pytest.fixture(scope="session")
def image_python():
    return sklearn_image_env.environment()


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory):
    """/opt/ml as the image sees it: the archive unpacked into model/."""
    root = tmp_path_factory.mktemp("opt-ml")
    save_tiny(root / "artifacts" / "v2", version="v2")
    built = package.build(root / "artifacts" / "v2", root / "model.tar.gz")
    with tarfile.open(built.path) as archive:
        archive.extractall(root / "model", filter="data")
    return root


# (case, body, content type, expected status, a check on the JSON body)
REFUSAL = "items[0]: 'abc' is not a numeric id"
CASES = [
    ("good request", '{"instances": [{"in0": [1], "in1": [10]}]}', "application/json", 200,
     lambda body: body == {"predictions": [{"scores": [pytest.approx(3.9, abs=1e-6)]}]}),
    ("template's refusal", json.dumps({"error": REFUSAL}), "application/json", 400,
     lambda body: body == {"message": REFUSAL}),
    ("invalid JSON", '{"instances": [', "application/json", 400,
     lambda body: body["message"].startswith("body: not valid JSON")),
    ("wrong content type", "1,10", "text/csv", 415,
     lambda body: "'text/csv' is not supported" in body["message"]),
    ("unknown item", '{"instances": [{"in0": [1], "in1": [999999]}]}', "application/json", 200,
     lambda body: body == {"predictions": [{"scores": [pytest.approx(3.5 + 0.2)]}]}),  # mean + user bias
]


@pytest.fixture(scope="session")
def answers(image_python, base_dir):
    task = {"base_dir": str(base_dir), "program": package.ENVIRONMENT["SAGEMAKER_PROGRAM"],
            "requests": [{"body": body, "content_type": media} for _, body, media, _, _ in CASES]}
    env = {"PATH": os.environ.get("PATH", ""), "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}
    done = subprocess.run([str(image_python), str(sklearn_image_env.DRIVER)], input=json.dumps(task),
                          capture_output=True, text=True, timeout=DRIVER_TIMEOUT, env=env, cwd=base_dir)
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(zip([case[0] for case in CASES], json.loads(done.stdout.splitlines()[-1]), strict=True))


@pytest.mark.parametrize("case, body, media, status, check", CASES, ids=[case[0] for case in CASES])
def test_archive_keeps_its_contract_under_the_image_serving_library(answers, case, body, media, status, check):
    answer = answers[case]
    assert answer["status"] == status, f"{case}: {answer}"
    assert answer["content_type"].startswith("application/json"), f"{case}: {answer}"
    assert check(json.loads(answer["body"])), f"{case}: {answer['body']}"


def test_the_environment_is_reused_while_its_pins_are_unchanged(image_python, monkeypatch):
    monkeypatch.setattr(sklearn_image_env, "_build", lambda folder: pytest.fail(f"rebuilt {folder}"))
    assert sklearn_image_env.environment() == image_python
    assert image_python.parent.parent.name.endswith(sklearn_image_env.pins_digest())
