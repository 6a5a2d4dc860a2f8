"""Container images of model versions: a full ECR URI, or a built-in algorithm name.

Algorithm names (``object2vec``, ``sklearn:1.2-1``) are resolved with the SageMaker SDK's
``image_uris``, which works offline from its bundled tables. The SDK is imported only when a
name needs resolving, because it takes over a second to import.
"""

from __future__ import annotations

from core.arns import ALGORITHM_IMAGE, ECR_IMAGE
from core.config import StackConfig
from core.fields import ConfigError

MSG_UNKNOWN_IMAGE = "models[{index}].image: {image!r} could not be resolved in {region}: {reason}"


def resolve(image: str, region: str) -> str:
    """The ECR URI for ``image``; raises ValueError naming why it cannot be resolved."""
    if ECR_IMAGE.fullmatch(image):
        return image
    match = ALGORITHM_IMAGE.fullmatch(image)
    if match is None:
        raise ValueError("not an image URI or algorithm name")
    from sagemaker.core import image_uris

    try:
        return image_uris.retrieve(match["framework"], region=region, version=match["version"],
                                   image_scope="inference")
    except FileNotFoundError:
        raise ValueError(f"the SageMaker SDK knows no algorithm or framework {match['framework']!r}") from None


def resolve_all(config: StackConfig) -> dict[str, str]:
    """Image URI per model version; every failure is reported at once as a ConfigError."""
    resolved: dict[str, str] = {}
    problems: list[str] = []
    for index, model in enumerate(config.models):
        try:
            resolved[model.name] = resolve(model.image, config.region)
        except ValueError as error:
            problems.append(MSG_UNKNOWN_IMAGE.format(index=index, image=model.image,
                                                     region=config.region, reason=error))
    if problems:
        raise ConfigError(problems)
    return resolved
