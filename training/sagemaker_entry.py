"""The module SageMaker's scikit-learn image imports: packaged as ``code/inference.py``.

The image serves user code with ``sagemaker-containers``: its Transformer wraps each hook so that
any exception becomes a 500 HTML page, and only its own default ``input_fn`` can answer 415
(``sagemaker_containers/_transformer.py``, ``_functions.error_wrapper``). A ``transform_fn``
returns the whole response instead, so refusals keep their status and JSON body. The image
refuses a module that defines ``transform_fn`` next to ``input_fn``/``predict_fn``/``output_fn``
(aws/sagemaker-scikit-learn-container ``serving.py``, ``_user_module_transformer``), hence this
separate module; the hooks live in ``ratings_inference`` (``training/inference.py``), importable
because the image puts the code directory on gunicorn's python path.
"""

from __future__ import annotations

import ratings_inference
from sagemaker_containers.beta.framework import worker

model_fn = ratings_inference.model_fn


def transform_fn(model, content, content_type, accept):
    reply = ratings_inference.respond(model, content, content_type, accept)
    return worker.Response(response=reply.body, status=reply.status, mimetype=reply.media_type)
