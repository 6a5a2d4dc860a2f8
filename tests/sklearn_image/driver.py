"""Serve an unpacked model.tar.gz the way SageMaker's scikit-learn image does, in-process.

Runs inside the environment of ``requirements.txt``. Reads ``{"base_dir", "program",
"requests": [{"body", "content_type", "accept"}]}`` on stdin and prints one ``{"status", "content_type",
"body"}`` per request. The steps follow aws/sagemaker-scikit-learn-container
``src/sagemaker_sklearn_container/serving.py`` (``main``, ``import_module``,
``_user_module_transformer``) and sagemaker-containers 2.8.6.post2 ``_server.start`` (the code
directory is copied to ``/opt/ml/code`` and put on gunicorn's python path).
"""

import collections
import collections.abc
import importlib
import json
import os
import sys

# sagemaker-containers predates Python 3.10, which removed these aliases.
for _name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable", "Set", "Hashable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))


def load_transformer(transformer, env, files, module_name):
    """The image's import_module and _user_module_transformer, including its refusal."""
    files.download_and_extract(env.ServingEnv().module_dir, env.code_dir)
    sys.path.append(env.code_dir)
    user_module = importlib.import_module(module_name)
    hooks = [name for name in ("input_fn", "predict_fn", "output_fn") if hasattr(user_module, name)]
    transform_fn = getattr(user_module, "transform_fn", None)
    if transform_fn and hooks:
        raise SystemExit("the image refuses transform_fn next to " + ", ".join(hooks))
    if transform_fn is not None:
        return transformer.Transformer(model_fn=user_module.model_fn, transform_fn=transform_fn)
    return transformer.Transformer(model_fn=user_module.model_fn, input_fn=getattr(user_module, "input_fn", None),
                                   predict_fn=getattr(user_module, "predict_fn", None),
                                   output_fn=getattr(user_module, "output_fn", None))


def main():
    task = json.load(sys.stdin)
    os.environ["SAGEMAKER_BASE_DIR"] = task["base_dir"]
    os.environ["SAGEMAKER_PROGRAM"] = task["program"]
    os.environ["SAGEMAKER_SUBMIT_DIRECTORY"] = os.path.join(task["base_dir"], "model", "code")
    from sagemaker_containers import _env, _files
    from sagemaker_containers.beta.framework import transformer, worker

    serving_env = _env.ServingEnv()
    user_transformer = load_transformer(transformer, _env, _files, serving_env.module_name)
    user_transformer.initialize()
    app = worker.Worker(transform_fn=user_transformer.transform, module_name=serving_env.module_name)
    answers = []
    with app.test_client() as client:
        for request in task["requests"]:
            headers = {"Content-Type": request["content_type"], "Accept": request.get("accept", "application/json")}
            answer = client.post("/invocations", data=request["body"].encode(), headers=headers)
            answers.append({"status": answer.status_code, "content_type": answer.headers.get("Content-Type"),
                            "body": answer.get_data(as_text=True)})
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
