"""``model.tar.gz`` for SageMaker's scikit-learn framework image.

The archive holds the trained arrays at its root and, under ``code/``, the entry module the
container imports because SAGEMAKER_PROGRAM names it (``inference.py``, a ``transform_fn`` from
``training/sagemaker_entry.py``) beside the hooks it serves (``ratings_inference.py``, from
``training/inference.py``). The image only needs numpy, which it ships.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from training import inference

FRAMEWORK = "sklearn"
FRAMEWORK_VERSION = "1.2-1"
CODE_DIR = "code"
ENTRY_MODULE = "inference.py"  # what stack files name in SAGEMAKER_PROGRAM
HANDLER_MODULE = "ratings_inference.py"  # the name sagemaker_entry.py imports
ENTRY_SOURCE = Path(__file__).resolve().parent / "sagemaker_entry.py"
ENVIRONMENT = {"SAGEMAKER_PROGRAM": ENTRY_MODULE, "SAGEMAKER_SUBMIT_DIRECTORY": f"/opt/ml/model/{CODE_DIR}"}


@dataclass(frozen=True)
class Package:
    path: Path
    version: str
    members: list[str]


def build(model_dir: Path, output: Path) -> Package:
    """Write ``output`` atomically from a trained version folder (checked by loading it)."""
    model = inference.load_model(model_dir)
    files = {inference.ARRAYS_FILE: (model_dir / inference.ARRAYS_FILE).read_bytes(),
             inference.METADATA_FILE: (model_dir / inference.METADATA_FILE).read_bytes(),
             f"{CODE_DIR}/{ENTRY_MODULE}": ENTRY_SOURCE.read_bytes(),
             f"{CODE_DIR}/{HANDLER_MODULE}": Path(inference.__file__).read_bytes()}
    output.parent.mkdir(parents=True, exist_ok=True)
    with (tempfile.NamedTemporaryFile(dir=output.parent, prefix=f".{output.name}.", delete=False) as temp,
          tarfile.open(fileobj=temp, mode="w:gz") as archive):
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            archive.addfile(info, io.BytesIO(data))
    Path(temp.name).replace(output)
    return Package(output, model.version, sorted(files))


def stack_entry(version: str, model_data_url: str, instance_type: str = "ml.m5.large") -> dict:
    """The ``ratings:models`` entry that serves this package next to other versions."""
    return {"name": version, "image": f"{FRAMEWORK}:{FRAMEWORK_VERSION}", "modelData": model_data_url,
            "instanceType": instance_type, "instanceCount": 1, "environment": dict(ENVIRONMENT)}


def describe(entry: dict) -> str:
    return json.dumps(entry, indent=2)
