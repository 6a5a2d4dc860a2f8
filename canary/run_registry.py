"""Where a stack's run is held and seen by every operator of the stack, not only by the machine
that runs it.

The local stack runs on one machine: the record beside the stack file and the run's process id
say everything (``LocalRegistry`` adds nothing). A cloud stack is shared: two operators, or a CI
job and a laptop, must not run two rollouts on one stage. Its run is held in AWS Systems Manager
Parameter Store, beside the stack's resources and readable with the operator's credentials:

- ``/ratings/<endpoint>/canary-run/lock`` is created with ``PutParameter(Overwrite=False)``, which
  fails with ``ParameterAlreadyExists`` while another run holds it (SSM API reference,
  "PutParameter": Overwrite defaults to false): at most one run takes it;
- ``/ratings/<endpoint>/canary-run/record`` is the run's summary (who runs it where, the step and
  weight, how it ended), rewritten at every change of the run, so its age tells a live run from
  one whose machine is gone; ``canary abort`` from any machine writes its request there, stops
  the candidate's traffic on the stage itself, and the run rolls back at its next look.

The full record (every verdict and its evidence) stays beside the stack file on the machine that
ran it (and in a CI job's artifact): a parameter holds 4 KB.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from core import names
from core.files import write_atomic
from core.metrics import MetricsError
from core.run_state import RunState, RunStatus

# a run rewrites its record at every look (30 s by default) and every step; one silent this long
# belongs to a run whose process or machine is gone
STALE_SECONDS = 600.0


@dataclass(frozen=True)
class Held:
    """A run as every operator sees it."""

    version: str
    host: str
    pid: int
    status: str
    step: int  # counted from 1
    steps: int
    weight: float
    updated_at: float
    reason: str = ""
    abort_requested_by: str = ""
    pause_requested_by: str = ""

    def running(self, now: float) -> bool:
        return self.status == RunStatus.RUNNING.value and now - self.updated_at < STALE_SECONDS

    def describe(self) -> str:
        return f"host {self.host}, process {self.pid}, step {self.step}/{self.steps} at {self.weight:g} %"

    @classmethod
    def of(cls, state: RunState, host: str, requests: Held | None = None) -> Held:
        """``state`` as shared, keeping the requests (abort, pause) other operators left in ``requests``."""
        kept = requests if requests is not None and requests.status == RunStatus.RUNNING.value else None
        return cls(state.version, host, state.pid, state.status.value, state.step + 1, len(state.weights),
                   state.weight, state.updated_at, state.reason[:500], kept.abort_requested_by if kept else "",
                   kept.pause_requested_by if kept else "")


def this_host() -> str:
    return socket.gethostname()


class Registry(Protocol):
    def holder(self) -> Held | None:
        """The run recorded for the stack (running or how it ended); None when there is none."""
        ...

    def acquire(self, state: RunState) -> None:
        """Hold the stack for ``state``'s run; raises RegistryHeld while another run holds it."""
        ...

    def publish(self, state: RunState) -> None: ...

    def release(self, state: RunState) -> None: ...

    def request_abort(self, by: str) -> None: ...

    def abort_requested(self) -> str:
        """Who asked the run to abort ("" when nobody did)."""
        ...

    def request_pause(self, by: str) -> None:
        """Ask the run to hold its weight (``by`` "" asks it to go on)."""
        ...

    def pause_requested(self) -> str:
        """Who paused the run ("" when it is not paused)."""
        ...


class RegistryHeld(Exception):
    def __init__(self, held: Held):
        super().__init__(held.describe())
        self.held = held


class LocalRegistry:
    """The local stack: one machine, so the record beside the stack file is the registry; a pause
    is a file beside it (``Pulumi.local.canary-run.pause``, naming who paused)."""

    def __init__(self, pause_file: Path):
        self.pause_file = pause_file

    def holder(self) -> Held | None:
        return None

    def acquire(self, state: RunState) -> None:
        self.pause_file.unlink(missing_ok=True)  # a pause left by an earlier run is not this one's

    def publish(self, state: RunState) -> None:
        return None

    def release(self, state: RunState) -> None:
        self.pause_file.unlink(missing_ok=True)

    def request_abort(self, by: str) -> None:
        return None

    def abort_requested(self) -> str:
        return ""

    def request_pause(self, by: str) -> None:
        if by:
            write_atomic(self.pause_file, by)
        else:
            self.pause_file.unlink(missing_ok=True)

    def pause_requested(self) -> str:
        try:
            return self.pause_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return ""


class SsmRegistry:
    """A cloud stack's run, held and recorded in SSM Parameter Store (see the module's text)."""

    def __init__(self, ssm_client: Any, endpoint: str, clock: Any = time.time, host: str | None = None):
        self.client, self.clock, self.host = ssm_client, clock, host or this_host()
        base = names.run_registry(endpoint)
        self.lock, self.record = f"{base}/lock", f"{base}/record"

    def holder(self) -> Held | None:
        text = self._get(self.record)
        if text is None:
            return None
        try:
            return Held(**json.loads(text))
        except (TypeError, ValueError) as error:
            raise MetricsError(f"{self.record} is not a run record ({error})") from None

    def acquire(self, state: RunState) -> None:
        held = self.holder()
        if held is not None and held.running(self.clock()):
            raise RegistryHeld(held)
        lock = self._get(self.lock)
        if lock is not None:
            # a lock taken after the record was last written is a run starting right now; an older
            # one belongs to the run the record says ended, or went silent, and is taken over
            if held is None or _taken_at(lock) > held.updated_at:
                raise RegistryHeld(held or Held(state.version, "another machine", 0, "running", 1, 1, 0.0, 0.0))
            self._delete(self.lock)
        value = json.dumps({"host": self.host, "pid": state.pid, "at": self.clock()})
        try:
            self._put(self.lock, value, overwrite=False)
        except _AlreadyHeld:
            raise RegistryHeld(self.holder() or Held.of(state, "another machine")) from None
        self.publish(state)

    def publish(self, state: RunState) -> None:
        shared = Held.of(state, self.host, self.holder())
        self._put(self.record, json.dumps(asdict(shared)), overwrite=True)

    def release(self, state: RunState) -> None:
        self.publish(state)
        self._delete(self.lock)

    def request_abort(self, by: str) -> None:
        self._request("abort_requested_by", by)

    def abort_requested(self) -> str:
        held = self.holder()
        return held.abort_requested_by if held is not None and held.status == RunStatus.RUNNING.value else ""

    def request_pause(self, by: str) -> None:
        self._request("pause_requested_by", by)

    def pause_requested(self) -> str:
        held = self.holder()
        return held.pause_requested_by if held is not None and held.status == RunStatus.RUNNING.value else ""

    def _request(self, field: str, by: str) -> None:
        held = self.holder()
        if held is not None:
            self._put(self.record, json.dumps({**asdict(held), field: by}), overwrite=True)

    def _get(self, name: str) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return str(self.client.get_parameter(Name=name)["Parameter"]["Value"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
                return None
            raise MetricsError(f"cannot read {name} (GetParameter): {error}") from None
        except BotoCoreError as error:
            raise MetricsError(f"cannot read {name} (GetParameter): {error}") from None

    def _put(self, name: str, value: str, overwrite: bool) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_parameter(Name=name, Value=value, Type="String", Overwrite=overwrite)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ParameterAlreadyExists":
                raise _AlreadyHeld() from None
            raise MetricsError(f"cannot write {name} (PutParameter): {error}") from None
        except BotoCoreError as error:
            raise MetricsError(f"cannot write {name} (PutParameter): {error}") from None

    def _delete(self, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_parameter(Name=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
                raise MetricsError(f"cannot delete {name} (DeleteParameter): {error}") from None
        except BotoCoreError as error:
            raise MetricsError(f"cannot delete {name} (DeleteParameter): {error}") from None


class _AlreadyHeld(Exception):
    pass


def _taken_at(lock: str) -> float:
    try:
        return float(json.loads(lock).get("at", 0.0))
    except (TypeError, ValueError, AttributeError):
        return 0.0
