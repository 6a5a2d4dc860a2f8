"""The embedded default: the ratings API on this machine, from Pulumi.local.yaml.

Model servers (one process per version) behind a local SageMaker runtime, behind a local API
Gateway that serves the same OpenAPI document and templates as the cloud stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
import uvloop

from core import routing, stack_file
from core.config import StackConfig
from core.config_edge import AuthMode
from emulator import cognito, dashboard, fleet, processes, stage_api, stage_cache, supervisor, waf
from emulator.access_log import RotatingAccessLog
from emulator.api_keys import new_key
from emulator.apps import gateway_app
from emulator.gateway import Gateway
from emulator.gateway_state import StateHolder
from emulator.http_server import guarded_protocol
from emulator.limits import Limits
from emulator.runtime import SageMakerRuntime, Variant
from emulator.runtime import create_app as runtime_app

MSG_DOMAIN = "api.domain {name} is the deployed API's address; the local API answers on 127.0.0.1 (below)"
MSG_CACHE = ("stage cache: live's answers kept {ttl} s per user and items, emptied on a promotion or rollback; "
             "the {size} GB cluster is not emulated (at most {entries:,} answers)")
MSG_API_KEY = "the stage requires an API key: send the header x-api-key: {key} ({source})"


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the local stack stops both servers together."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


@dataclass(frozen=True)
class Urls:
    gateway: str
    runtime: str

    def ratings(self, config: StackConfig) -> str:
        return f"{self.gateway}/{config.api.stage_name}/predicted-ratings/321?items=101,131,162&"


def model_dir(config: StackConfig, project_dir: Path, version: str) -> Path:
    return project_dir / config.local.artifacts / version


def ensure_trained(config: StackConfig, project_dir: Path, echo=print) -> None:
    """Train every configured version that has no artifact yet, side by side (the same command a
    user runs: ``ratings train v1 v2``)."""
    missing = [model.name for model in config.models
               if not (model_dir(config, project_dir, model.name) / "metadata.json").exists()]
    if missing:
        echo(f"training {', '.join(missing)} (no artifact in {project_dir / config.local.artifacts}) ...")
        subprocess.run([processes.RATINGS, "train", *missing, "--out", str(project_dir / config.local.artifacts)],
                       check=True, cwd=project_dir)


TRAINING = "model server {version}: no artifact in {folder}; training it first (log: {log})"
TRAINING_FAILED = "training {version} exited with code {code}: {tail}"


def launch(config: StackConfig, version: str, port: int, stopping: threading.Event, project_dir: Path,
           log_dir: Path, echo=print) -> processes.ModelServer:
    """Start a version added while the stack runs, training it first when it has no artifact."""
    folder, log_file = model_dir(config, project_dir, version), log_dir / f"{version}.log"
    trained = (folder / "metadata.json").exists()
    if not trained:
        echo(TRAINING.format(version=version, folder=folder.parent, log=log_file))
        _train(version, folder.parent, project_dir, log_file, stopping)
    return processes.start(version, folder, port, log_file, append_log=not trained)


def _train(version: str, out: Path, project_dir: Path, log_file: Path, stopping: threading.Event) -> None:
    """``ratings train VERSION`` into the version's log; killed if the stack stops meanwhile."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("wb") as log:
        training = subprocess.Popen([processes.RATINGS, "train", version, "--quiet", "--out", str(out)],
                                    stdout=log, stderr=subprocess.STDOUT, cwd=project_dir)
    while training.poll() is None:
        if stopping.wait(0.2):
            training.kill()
            training.wait()
            raise processes.StartError(f"training {version} stopped with the stack")
    if training.returncode != 0:
        raise processes.StartError(TRAINING_FAILED.format(version=version, code=training.returncode,
                                                          tail=processes.log_tail(log_file)))


def start_model_servers(config: StackConfig, project_dir: Path, log_dir: Path) -> list[processes.ModelServer]:
    servers: list[processes.ModelServer] = []
    try:
        for index, model in enumerate(config.models):
            servers.append(processes.start(model.name, model_dir(config, project_dir, model.name),
                                           config.local.model_port_base + index, log_dir / f"{model.name}.log"))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers


async def serve(stack_path: Path, servers: list[processes.ModelServer], echo=print, access_log=print,
                ready: asyncio.Event | None = None, limits: Limits | None = None,
                launch_version: fleet.Launch | None = None) -> None:
    """Run the runtime and gateway until SIGINT/SIGTERM (or until ``ready``'s owner cancels),
    restarting model servers that exit, and starting or stopping versions the stack file adds or
    removes (``launch_version`` starts one; without it the version list is fixed)."""
    limits = limits or Limits.from_environ()
    states = StateHolder(stack_path, report=echo, running={s.version for s in servers})
    config = states.state.config
    weights = routing.variant_weights(config.model_names, config.endpoint.default_variant)
    runtime = SageMakerRuntime(config.endpoint.name,
                               [Variant(s.version, s.url, weights.get(s.version, 0.0)) for s in servers],
                               seed=config.local.canary_seed, limits=limits,
                               faults_of=lambda: states.current().config.local.faults)
    api_key = config.local.api_key or new_key()
    gateway = Gateway(states, runtime, access_log, limits, answers=runtime.metrics, api_key=api_key)
    for line in edge_banner(config, api_key):
        echo(line)
    page = dashboard.Dashboard(runtime.metrics, lambda: states.current().config, stack_path,
                               edit_of=lambda: states.last_edit)
    services = stage_api.with_stage_api(dashboard.with_dashboard(runtime_app(runtime), page), states.current)
    web = [_server(gateway_app(gateway), config.local.gateway_port, guarded_protocol(limits, gateway.refuse)),
           _server(services, config.local.runtime_port)]
    watcher = supervisor.Supervisor(servers, echo, limits=limits)
    versions = fleet.Fleet(servers, runtime, watcher, launch_version or _fixed, echo,
                           served=lambda: states.state.config, recheck=states.recheck, drain_s=limits.model_timeout_s)
    states.follow(versions.running, versions.want)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, _ask_to_exit, web)
    tasks = [asyncio.create_task(s.serve()) for s in web]
    helpers = [asyncio.create_task(_watch(states)), asyncio.create_task(watcher.run()),
               asyncio.create_task(versions.run())]
    try:
        while not all(s.started for s in web):
            if any(t.done() for t in tasks):
                break
            await asyncio.sleep(0.05)
        gc.freeze()  # start-up objects are permanent: full collections no longer walk them (p99)
        if ready is not None:
            ready.set()
        await asyncio.gather(*tasks)
    finally:
        for helper in helpers:
            helper.cancel()
        for s in web:
            s.should_exit = True
        await asyncio.gather(*tasks, *helpers, return_exceptions=True)
        await runtime.close()
        await asyncio.to_thread(versions.stop_added, servers)


def edge_banner(config: StackConfig, api_key: str) -> list[str]:
    """What the local stage does of the API's edge settings, said once at start, and what it does not."""
    api, lines = config.api, []
    if api.auth is AuthMode.API_KEY:
        lines.append(MSG_API_KEY.format(key=api_key, source="ratings:local.apiKey" if config.local.api_key
                                        else "made now"))
    if api.auth is AuthMode.COGNITO and api.cognito is not None:
        lines.append(cognito.banner(api.cognito, time.time()))
    if api.waf is not None:
        lines.append(waf.banner(api.waf.rate_limit_per_5min))
    if api.domain is not None:
        lines.append(MSG_DOMAIN.format(name=api.domain.name))
    if api.cache is not None:
        lines.append(MSG_CACHE.format(ttl=api.cache.ttl_seconds, size=api.cache.size_gb,
                                      entries=stage_cache.MAX_ENTRIES))
    return lines


def _fixed(config: StackConfig, version: str, port: int, stopping: threading.Event) -> processes.ModelServer:
    raise processes.StartError("this runtime was started with a fixed list of versions; restart it")


def _ask_to_exit(servers: list[_QuietServer]) -> None:
    """SIGINT or SIGTERM stops every server together (their own signal handling is off)."""
    for server in servers:
        server.should_exit = True


def _server(app, port: int, protocol=None) -> _QuietServer:
    """uvicorn on loopback; it binds with SO_REUSEADDR, so a restart need not wait out TIME_WAIT.
    No proxy in front, and no Server header (API Gateway sends none)."""
    return _QuietServer(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                       lifespan="off", http=protocol or "httptools", proxy_headers=False,
                                       server_header=False))


async def _watch(states: StateHolder) -> None:
    """Apply stack-file edits promptly even when no request arrives."""
    while True:
        await asyncio.sleep(StateHolder.CHECK_EVERY)
        states.current()


def check_ports_free(config: StackConfig) -> None:
    """Refuse ports another process listens on; sockets of a previous run still in TIME_WAIT do
    not count (the probe binds with SO_REUSEADDR, as the servers themselves do)."""
    ports = [config.local.gateway_port, config.local.runtime_port,
             *(config.local.model_port_base + n for n in range(len(config.models)))]
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                raise processes.StartError(f"port {port} is in use (is the local API already running?); "
                                           "stop it or change ratings:local ports in the stack file") from None


def run(stack_path: Path, project_dir: Path, echo=print) -> int:
    """Everything `make local` does after the environment exists."""
    config = stack_file.read(stack_path).config
    limits = Limits.from_environ()
    check_ports_free(config)
    ensure_trained(config, project_dir, echo)
    log_dir = project_dir / ".cache" / "local-logs"
    servers = start_model_servers(config, project_dir, log_dir)
    urls = Urls(f"http://127.0.0.1:{config.local.gateway_port}", f"http://127.0.0.1:{config.local.runtime_port}")
    echo(f"model servers: {', '.join(f'{s.version} {s.url}' for s in servers)}")
    echo(f"SageMaker runtime: {urls.runtime}/endpoints/{config.endpoint.name}/invocations "
         f"(metrics: {urls.runtime}/metrics)")
    echo(f"dashboard: {urls.runtime}{dashboard.PREFIX}")
    echo(f"API: {urls.gateway}/{config.api.stage_name}/predicted-ratings/{{user_id}}?items=...\n")
    echo(f'try:  curl "{urls.ratings(config)}"')
    echo(f"access log (one JSON line per request, rotated at 20 MB): {log_dir / 'access.log'}")
    echo(f"edit {stack_path.name} to change routing (applied without a restart); Ctrl-C stops everything\n")
    try:
        with RotatingAccessLog(log_dir / "access.log") as access:
            uvloop.run(serve(stack_path, servers, echo=echo, access_log=access.write, limits=limits,
                             launch_version=functools.partial(launch, project_dir=project_dir, log_dir=log_dir,
                                                              echo=echo)))
    finally:
        for server in servers:
            server.stop()
        echo("stopped")
    return 0
