"""The Object2Vec launcher under moto: the CreateTrainingJob request it makes, and the CLI."""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from ratings.cli import main
from training import data, movielens, sagemaker_job

REGION = "eu-west-1"
BUCKET = "ratings-test-models"
ROLE = "arn:aws:iam::123456789012:role/ratings-training"


@pytest.fixture
def aws(monkeypatch, tmp_path):
    config = tmp_path / "sagemaker-config.yaml"
    config.write_text('SchemaVersion: "1.0"\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n')
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION, "SAGEMAKER_VALIDATE_ROLE": "false",
                        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config)}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3", region_name=REGION).create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield boto3.Session(region_name=REGION)


@pytest.fixture(scope="module")
def split():
    return data.holdout(movielens.load_default())


def _only_job(session) -> dict:
    client = session.client("sagemaker")
    (summary,) = client.list_training_jobs()["TrainingJobSummaries"]
    return client.describe_training_job(TrainingJobName=summary["TrainingJobName"])


def test_create_training_job_request(aws, split):
    job = sagemaker_job.launch(split, sagemaker_job.JobSettings(BUCKET, ROLE, REGION), boto_session=aws)
    request = _only_job(aws)
    assert request["TrainingJobName"] == job.name and job.name.startswith("ratings-object2vec")
    image = request["AlgorithmSpecification"]["TrainingImage"]
    assert image == "438346466558.dkr.ecr.eu-west-1.amazonaws.com/object2vec:1"
    assert request["RoleArn"] == ROLE
    expected = {key: str(value) for key, value in sagemaker_job.NOTEBOOK_HYPERPARAMETERS.items()}
    expected.update(enc0_vocab_size="944", enc1_vocab_size="1683")
    assert request["HyperParameters"] == expected
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    assert channels == {"train": f"s3://{BUCKET}/ratings/object2vec/train/",
                        "validation": f"s3://{BUCKET}/ratings/object2vec/validation/"}
    assert request["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/ratings/object2vec/output"
    assert request["ResourceConfig"]["InstanceType"] == "ml.m5.2xlarge"
    assert job.model_data_url == f"s3://{BUCKET}/ratings/object2vec/output/{job.name}/output/model.tar.gz"


def test_channels_hold_the_split_as_object2vec_jsonlines(aws, split):
    sagemaker_job.launch(split, sagemaker_job.JobSettings(BUCKET, ROLE, REGION), boto_session=aws)
    s3 = aws.client("s3")
    validation = s3.get_object(Bucket=BUCKET, Key="ratings/object2vec/validation/validation.jsonl")["Body"].read()
    lines = validation.decode().splitlines()
    assert len(lines) == len(split.test) == 9430
    assert set(json.loads(lines[0])) == {"in0", "in1", "label"}
    train = s3.get_object(Bucket=BUCKET, Key="ratings/object2vec/train/train.jsonl")["Body"].read()
    assert len(train.decode().splitlines()) == len(split.train)


def test_cli_prints_the_stack_entry(aws):
    result = CliRunner().invoke(main, ["train", "v3", "--sagemaker", "--bucket", BUCKET, "--role-arn", ROLE,
                                       "--region", REGION])
    assert result.exit_code == 0, result.output
    assert "- name: v3\n  image: object2vec\n  modelData: s3://ratings-test-models/" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--sagemaker"], "--sagemaker needs --bucket and --role-arn"),
    (["--sagemaker", "--bucket", BUCKET], "--sagemaker needs --role-arn"),
])
def test_cli_refuses_incomplete_sagemaker_flags(args, message):
    result = CliRunner().invoke(main, ["train", "v3", *args])
    assert result.exit_code == 2 and message in result.output
