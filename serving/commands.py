"""``ratings serve``: run the model server for one trained version."""

from __future__ import annotations

import click

from serving.environment import ServerEnvironment


@click.command("serve")
@click.option("--model-dir", help="Folder with model.npz and metadata.json (default: $SM_MODEL_DIR or /opt/ml/model).")
@click.option("--port", type=click.IntRange(1, 65535),
              help="Port to listen on (default: $SAGEMAKER_BIND_TO_PORT or 8080).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0 in a container).")
def serve_command(model_dir: str | None, port: int | None, host: str) -> None:
    """Serve predictions with SageMaker's container contract: GET /ping, POST /invocations."""
    import uvicorn

    from serving.app import ModelHolder, create_app
    from serving.http_head import BoundedHeadProtocol
    from training.inference import ModelLoadError

    try:
        environment = ServerEnvironment.from_environ()
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    holder = ModelHolder(model_dir or environment.model_dir)
    try:
        model = holder.load()
    except ModelLoadError as error:
        raise click.ClickException(str(error)) from None
    port = port or environment.port
    click.echo(f"serving {model.version} from {holder.model_dir} on http://{host}:{port} (Ctrl-C stops)")
    uvicorn.run(create_app(holder, environment.max_body_bytes, environment.identity), host=host, port=port,
                log_level="warning", access_log=False, http=BoundedHeadProtocol)
