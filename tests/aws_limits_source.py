"""The AWS limits core/aws_limits.json holds, read from the installed botocore's service models.

``python -m tests.aws_limits_source`` rewrites the file (after a boto3 upgrade, when
tests/test_aws_limits.py says it differs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore
import botocore.session

from core import aws_limits
from core.files import write_atomic

STRINGS = {"sagemaker": ("VariantName", "EndpointName", "EndpointConfigName", "ModelName", "EnvironmentKey",
                         "ContainerImage", "Url"),
           "iam": ("roleNameType",)}
LISTS = {"sagemaker": ("EnvironmentMap", "ProductionVariantList")}
ENUMS = {"sagemaker": ("ProductionVariantInstanceType",)}
PAYLOADS = {"sagemaker-runtime": ("InvokeEndpoint",)}


def limits() -> dict[str, Any]:
    session = botocore.session.get_session()
    models = {name: session.get_service_model(name) for name in ("sagemaker", "iam", "sagemaker-runtime")}
    strings = {f"{service}.{shape}": {"pattern": models[service].shape_for(shape).metadata["pattern"],
                                      "max": int(models[service].shape_for(shape).metadata["max"])}
               for service, shapes in STRINGS.items() for shape in shapes}
    lists = {f"{service}.{shape}": int(models[service].shape_for(shape).metadata["max"])
             for service, shapes in LISTS.items() for shape in shapes}
    enums = {f"{service}.{shape}": sorted(models[service].shape_for(shape).enum)
             for service, shapes in ENUMS.items() for shape in shapes}
    payloads = {f"{service}.{operation}": int(models[service].operation_model(operation)
                                              .input_shape.members["Body"].metadata["max"])
                for service, operations in PAYLOADS.items() for operation in operations}
    return {"source": f"botocore {botocore.__version__}", "strings": strings, "lists": lists, "enums": enums,
            "payloads": payloads}


def main() -> None:
    write_atomic(aws_limits.DATA_FILE, json.dumps(limits(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {Path(aws_limits.DATA_FILE).name} from {limits()['source']}")


if __name__ == "__main__":
    main()
