"""``ratings train``: train a model version locally and show how it compares."""

from __future__ import annotations

import os
from pathlib import Path

import click
import yaml

from core import extras
from training import data as movielens_data
from training import params as hyper

HYPERPARAMETERS = Path(__file__).resolve().parent / "hyperparameters"
ARTIFACTS = Path("artifacts")


def _require(module: str, extra: str, purpose: str) -> None:
    """Stop a command in one line when ``module`` (part of ``extra``) is not installed."""
    message = extras.missing_message(module, extra, purpose)
    if message:
        raise click.ClickException(message)


def _overrides(pairs: tuple[str, ...]) -> dict:
    """``--set bpmf.factors=30`` pairs as a nested mapping."""
    nested: dict = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--set")
        node = nested
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = yaml.safe_load(text)
    return nested


@click.command("train")
@click.argument("versions", nargs=-1)
@click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Hyperparameter file (YAML or JSON) for a single VERSION; default "
                   "training/hyperparameters/VERSION.yaml if present.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override one hyperparameter, e.g. --set bpmf.factors=30 (repeatable).")
@click.option("--data", "source", type=click.Path(path_type=Path),
              help="MovieLens 100k folder or zip (default: the copy in the recbole wheel on PyPI).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=ARTIFACTS, show_default=True,
              help="Where versions are written (OUT/VERSION/).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Versions trained at once (default: one per core, at most one per version).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--sagemaker", "on_sagemaker", is_flag=True,
              help="Train the Object2Vec sample model on SageMaker instead (needs --bucket and --role-arn).")
@click.option("--bucket", help="S3 bucket for the channels and the model (with --sagemaker).")
@click.option("--role-arn", help="SageMaker execution role for the training job (with --sagemaker).")
@click.option("--region", help="AWS region of the job (with --sagemaker; default: your AWS config).")
@click.option("--wait", is_flag=True, help="Wait for the SageMaker job and stream its log (with --sagemaker).")
def train_command(versions: tuple[str, ...], params_file: Path | None, settings: tuple[str, ...],
                  source: Path | None, out: Path, jobs: int | None, quiet: bool, on_sagemaker: bool,
                  bucket: str | None, role_arn: str | None, region: str | None, wait: bool) -> None:
    """Train model VERSIONS (default v1) on MovieLens 100k and compare them with the baselines.

    Several versions train side by side, one process per core, each with its own progress bar.
    """
    versions = versions or ("v1",)
    if on_sagemaker:
        if len(versions) > 1:
            raise click.UsageError("--sagemaker trains one VERSION at a time")
        _train_on_sagemaker(versions[0], source, bucket, role_arn, region, wait)
        return
    from training import jobs as training_jobs

    planned = _plan_jobs(versions, params_file, settings, source, out)
    workers = jobs or min(len(planned), os.cpu_count() or 1)
    try:
        summaries = training_jobs.run_all(planned, workers, show_progress=not quiet)
    except training_jobs.JobFailed as error:
        raise click.ClickException(str(error)) from None
    for summary in summaries:
        click.echo(f"\n{summary}")


def _plan_jobs(versions: tuple[str, ...], params_file: Path | None, settings: tuple[str, ...],
               source: Path | None, out: Path) -> list:
    """One job per version with its hyperparameters resolved; every mistake before any training."""
    from training.jobs import TrainJob

    if params_file and len(versions) > 1:
        raise click.UsageError("--params applies to a single VERSION; give one, or use the per-version files")
    if len(set(versions)) != len(versions):
        raise click.BadParameter("each version once", param_hint="VERSIONS")
    overrides = _overrides(settings)
    planned = []
    for version in versions:
        if not version.replace("-", "").isalnum():
            raise click.BadParameter(f"{version!r}: use letters, digits and hyphens (it becomes a variant name)",
                                     param_hint="VERSIONS")
        default_file = HYPERPARAMETERS / f"{version}.yaml"
        try:
            params = hyper.load(params_file or (default_file if default_file.exists() else None), overrides)
        except hyper.ParamsError as error:
            raise click.ClickException(str(error)) from None
        planned.append(TrainJob(version, params, source, out))
    return planned


def _train_on_sagemaker(version: str, source: Path | None, bucket: str | None, role_arn: str | None,
                        region: str | None, wait: bool) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    _require("sagemaker.train", extras.SAGEMAKER, "ratings train --sagemaker")
    from training import sagemaker_job
    from training.jobs import load_split

    if not (bucket and role_arn):
        missing = [flag for flag, value in (("--bucket", bucket), ("--role-arn", role_arn)) if not value]
        raise click.UsageError(f"--sagemaker needs {' and '.join(missing)}")
    session = boto3.Session(region_name=region) if region else boto3.Session()
    if not session.region_name:
        raise click.UsageError("no AWS region: pass --region or configure one")
    try:
        _, split = load_split(source, hyper.TrainParams().holdout_seed)
        job = sagemaker_job.launch(split, sagemaker_job.JobSettings(bucket, role_arn, session.region_name),
                                   wait=wait, boto_session=session)
    except movielens_data.DataError as error:
        raise click.ClickException(str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise click.ClickException(f"SageMaker/S3 refused the job: {error}") from None
    state = "finished" if wait else "started (follow it in the SageMaker console)"
    click.echo(f"training job {job.name} {state}; image {job.image}")
    click.echo("add this to ratings:models in Pulumi.<stack>.yaml once the job has completed:")
    click.echo(yaml.safe_dump([sagemaker_job.stack_entry(version, job)], sort_keys=False).rstrip())


@click.command("package")
@click.argument("version", default="v1")
@click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path), default=ARTIFACTS, show_default=True,
              help="Folder holding trained versions.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Archive to write (default: ARTIFACTS/VERSION/model.tar.gz).")
@click.option("--s3-uri", default=None, help="Where you will upload it, for the printed stack entry.")
@click.option("--region", default="eu-west-1", show_default=True, help="Region of the image URI shown.")
def package_command(version: str, artifacts: Path, output: Path | None, s3_uri: str | None, region: str) -> None:
    """Package trained VERSION as model.tar.gz for SageMaker's scikit-learn image."""
    _require("sagemaker.core", extras.AWS, "ratings package")
    from training import images, package
    from training.inference import ModelLoadError

    folder = artifacts / version
    target = output or folder / "model.tar.gz"
    try:
        built = package.build(folder, target)
    except ModelLoadError as error:
        raise click.ClickException(str(error)) from None
    url = s3_uri or f"s3://<your-bucket>/ratings/{version}/model.tar.gz"
    entry = package.stack_entry(version, url)
    image = images.resolve(entry["image"], region)
    click.echo(f"wrote {built.path} ({', '.join(built.members)})")
    click.echo(f"image in {region}: {image}")
    click.echo(f"upload it (aws s3 cp {built.path} {url}) and add this to ratings:models in Pulumi.<stack>.yaml:")
    click.echo(yaml.safe_dump([entry], sort_keys=False).rstrip())
