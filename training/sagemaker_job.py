"""Train the SageMaker Object2Vec sample model (the article's) with SageMaker SDK 3.x.

Uploads the hold-out split as Object2Vec's jsonlines channels, launches the built-in algorithm
with the sample notebook's hyperparameters through ``ModelTrainer``, and reports the stack
config entry that serves the result as a production variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from training.data import Split, object2vec_lines

ALGORITHM = "object2vec"

# The object2vec_movie_recommendation notebook's settings (vocabulary sizes come from the data).
NOTEBOOK_HYPERPARAMETERS = {
    "enc0_network": "pooled_embedding", "enc1_network": "pooled_embedding",
    "enc0_token_embedding_dim": 300, "enc1_token_embedding_dim": 300,
    "enc0_max_seq_len": 1, "enc1_max_seq_len": 1,
    "enc_dim": 1024, "mlp_dim": 256, "mlp_layers": 1, "mlp_activation": "tanh",
    "output_layer": "mean_squared_error", "optimizer": "adam", "learning_rate": 0.001,
    "mini_batch_size": 64, "epochs": 20, "early_stopping_patience": 3,
}


@dataclass(frozen=True)
class JobSettings:
    bucket: str
    role_arn: str
    region: str
    prefix: str = "ratings/object2vec"
    instance_type: str = "ml.m5.2xlarge"
    instance_count: int = 1
    max_runtime_seconds: int = 3600
    base_job_name: str = "ratings-object2vec"


@dataclass(frozen=True)
class LaunchedJob:
    name: str
    image: str
    model_data_url: str
    channels: dict[str, str]


def hyperparameters(split: Split) -> dict[str, object]:
    """The notebook's settings with vocabularies covering every id (ids are used as tokens)."""
    users = max(int(split.train.users.max()), int(split.test.users.max()))
    items = max(int(split.train.items.max()), int(split.test.items.max()))
    return {**NOTEBOOK_HYPERPARAMETERS, "enc0_vocab_size": users + 1, "enc1_vocab_size": items + 1}


def upload_channels(split: Split, settings: JobSettings, s3) -> dict[str, str]:
    """train (shuffled) and validation jsonlines under s3://bucket/prefix/<channel>/."""
    channels = {}
    for channel, data, seed in (("train", split.train, 0), ("validation", split.test, None)):
        key = f"{settings.prefix}/{channel}/{channel}.jsonl"
        s3.put_object(Bucket=settings.bucket, Key=key, Body=object2vec_lines(data, seed).encode())
        channels[channel] = f"s3://{settings.bucket}/{settings.prefix}/{channel}/"
    return channels


def launch(split: Split, settings: JobSettings, wait: bool = False,
           boto_session: boto3.Session | None = None) -> LaunchedJob:
    """Upload the channels and start the training job (optionally waiting for it)."""
    from sagemaker.core import image_uris
    from sagemaker.core.helper.session_helper import Session
    from sagemaker.core.shapes import OutputDataConfig, StoppingCondition
    from sagemaker.core.training.configs import Compute, InputData
    from sagemaker.train import ModelTrainer

    boto_session = boto_session or boto3.Session(region_name=settings.region)
    channels = upload_channels(split, settings, boto_session.client("s3"))
    image = image_uris.retrieve(ALGORITHM, region=settings.region)
    output = f"s3://{settings.bucket}/{settings.prefix}/output"
    trainer = ModelTrainer(
        training_image=image, role=settings.role_arn, base_job_name=settings.base_job_name,
        sagemaker_session=Session(boto_session=boto_session),
        compute=Compute(instance_type=settings.instance_type, instance_count=settings.instance_count),
        hyperparameters=hyperparameters(split),
        input_data_config=[InputData(channel_name=name, data_source=uri) for name, uri in channels.items()],
        output_data_config=OutputDataConfig(s3_output_path=output),
        stopping_condition=StoppingCondition(max_runtime_in_seconds=settings.max_runtime_seconds))
    trainer.train(wait=wait, logs=wait)
    name = trainer._latest_training_job.training_job_name  # the SDK's own handle on the job it started
    return LaunchedJob(name, image, f"{output}/{name}/output/model.tar.gz", channels)


def stack_entry(version: str, job: LaunchedJob, instance_type: str = "ml.m5.large") -> dict:
    return {"name": version, "image": ALGORITHM, "modelData": job.model_data_url,
            "instanceType": instance_type, "instanceCount": 1}
