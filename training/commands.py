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
def train_command(version: str, params_file: Path | None, settings: tuple[str, ...], source: Path | None,
                  out: Path, quiet: bool) -> None:
    """Train model VERSION on MovieLens 100k and compare it with the baselines."""
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
