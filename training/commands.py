"""``ratings train``: train a model version locally and show how it compares."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from training import data as movielens_data
from training import params as hyper

HYPERPARAMETERS = Path(__file__).resolve().parent / "hyperparameters"
ARTIFACTS = Path("artifacts")


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


def _load_split(source: Path | None, seed: int):
    from training import movielens

    if source is None:
        ratings = movielens.load_default()
        return ratings, movielens_data.holdout(ratings, seed)
    ratings, own_split = movielens_data.load(source)
    return ratings, own_split or movielens_data.holdout(ratings, seed)


@click.command("train")
@click.argument("version", default="v1")
@click.option("--params", "params_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Hyperparameter file (YAML or JSON); default training/hyperparameters/VERSION.yaml if present.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Override one hyperparameter, e.g. --set bpmf.factors=30 (repeatable).")
@click.option("--data", "source", type=click.Path(path_type=Path),
              help="MovieLens 100k folder or zip (default: the copy in the recbole wheel on PyPI).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=ARTIFACTS, show_default=True,
              help="Where versions are written (OUT/VERSION/).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--sagemaker", "on_sagemaker", is_flag=True,
              help="Train the Object2Vec sample model on SageMaker instead (needs --bucket and --role-arn).")
@click.option("--bucket", help="S3 bucket for the channels and the model (with --sagemaker).")
@click.option("--role-arn", help="SageMaker execution role for the training job (with --sagemaker).")
@click.option("--region", help="AWS region of the job (with --sagemaker; default: your AWS config).")
@click.option("--wait", is_flag=True, help="Wait for the SageMaker job and stream its log (with --sagemaker).")
def train_command(version: str, params_file: Path | None, settings: tuple[str, ...], source: Path | None,
                  out: Path, quiet: bool, on_sagemaker: bool, bucket: str | None, role_arn: str | None,
                  region: str | None, wait: bool) -> None:
    """Train model VERSION on MovieLens 100k and compare it with the baselines."""
    if on_sagemaker:
        _train_on_sagemaker(version, source, bucket, role_arn, region, wait)
        return
    from training import artifact, report  # heavy imports (numpy stacks, matplotlib) only when training
    from training.train import OURS, train

    if not version.replace("-", "").isalnum():
        raise click.BadParameter("use letters, digits and hyphens (it becomes a variant name)", param_hint="VERSION")
    default_file = HYPERPARAMETERS / f"{version}.yaml"
    try:
        params = hyper.load(params_file or (default_file if default_file.exists() else None), _overrides(settings))
        ratings, split = _load_split(source, params.holdout_seed)
    except (hyper.ParamsError, movielens_data.DataError) as error:
        raise click.ClickException(str(error)) from None
    model, result = train(version, split, params, ratings.checksum(), show_progress=not quiet)
    folder = out / version
    artifact.save(model, folder)
    report.plot(result, folder / "learning_curve.png")
    click.echo(f"\n{version}: trained in {result.seconds:.1f} s on {len(split.train):,} ratings, "
               f"evaluated on {len(split.test):,} ({split.source})\n")
    click.echo(report.table(result))
    verdict = "lowest" if result.rmse[OURS] < result.best_baseline else "NOT below the best baseline"
    click.echo(f"\nours: {result.rmse[OURS]:.4f} RMSE, {verdict}; saved to {folder}/ "
               "(model.npz, metadata.json, learning_curve.png)")


def _train_on_sagemaker(version: str, source: Path | None, bucket: str | None, role_arn: str | None,
                        region: str | None, wait: bool) -> None:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from training import sagemaker_job

    missing = [flag for flag, value in (("--bucket", bucket), ("--role-arn", role_arn)) if not value]
    if missing:
        raise click.UsageError(f"--sagemaker needs {' and '.join(missing)}")
    session = boto3.Session(region_name=region) if region else boto3.Session()
    if not session.region_name:
        raise click.UsageError("no AWS region: pass --region or configure one")
    try:
        _, split = _load_split(source, hyper.TrainParams().holdout_seed)
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
    from components import images
    from training import package
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
