"""The canary's share, moved on the running stage without a Pulumi update.

A run's steps after the first, `canary set`, and the first move of an abort change only the
canary's share of traffic; on AWS that is one UpdateStage call (seconds), where a `pulumi up` is a
preview and an update (tens of seconds to minutes) while the candidate keeps its share. The Stage
ignores that one input in Pulumi (components/ratings_api.py, ``STAGE_IGNORED``), so a `pulumi up`
from the committed stack file mid-run neither fights nor resets it; the stack file still records
the share, for `canary status` and the next run. Locally the running gateway applies the stack
file within a quarter of a second, so writing the file is the direct move.
"""

from __future__ import annotations

from typing import Any, Protocol

from core import routing
from core.metrics import MetricsError
from core.routing import Canary, CanaryMode

PERCENT_PATH = "/canarySettings/percentTraffic"
STICKY_PERCENT_PATH = f"/variables/{routing.CANDIDATE_PERCENT_STAGE_VARIABLE}"


class Traffic(Protocol):
    def set_share(self, canary: Canary, percent: float) -> bool:
        """Move ``canary`` to ``percent`` directly; False where only the stack's update can (a
        sticky canary's share is a stage variable Pulumi manages)."""
        ...

    def stop(self, canary: Canary) -> None:
        """Send the candidate nothing more, at once, ahead of the rollback that reconciles the stack."""
        ...

    def flush_cache(self) -> bool:
        """Empty the stage cache after the live version changed; False where the stage does it itself."""
        ...


class FileTraffic:
    """The local stack: the running gateway applies the stack file, so recording it moves traffic."""

    def set_share(self, canary: Canary, percent: float) -> bool:
        return canary.mode is CanaryMode.REQUEST

    def stop(self, canary: Canary) -> None:
        return None

    def flush_cache(self) -> bool:
        return False  # the local stage empties its cache when it serves a new live version


class StageTraffic:
    """API Gateway's UpdateStage on the stack's stage (API reference, "UpdateStage", PatchOperation
    ``replace /canarySettings/percentTraffic``, a share from 0.0 to 100.0)."""

    def __init__(self, apigateway_client: Any, rest_api_id: str, stage: str):
        self.client, self.rest_api_id, self.stage = apigateway_client, rest_api_id, stage

    def set_share(self, canary: Canary, percent: float) -> bool:
        if canary.mode is not CanaryMode.REQUEST:
            return False
        self._update(PERCENT_PATH, f"{percent:f}")
        return True

    def stop(self, canary: Canary) -> None:
        path = PERCENT_PATH if canary.mode is CanaryMode.REQUEST else STICKY_PERCENT_PATH
        self._update(path, f"{0.0:f}" if canary.mode is CanaryMode.REQUEST else "0")

    def flush_cache(self) -> bool:
        """FlushStageCache (API reference): the next request to each key asks the new live version."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.flush_stage_cache(restApiId=self.rest_api_id, stageName=self.stage)
        except (BotoCoreError, ClientError) as error:
            raise MetricsError(f"cannot flush the cache of stage {self.stage} of REST API {self.rest_api_id} "
                               f"(FlushStageCache): {error}") from None
        return True

    def _update(self, path: str, value: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.update_stage(restApiId=self.rest_api_id, stageName=self.stage,
                                     patchOperations=[{"op": "replace", "path": path, "value": value}])
        except (BotoCoreError, ClientError) as error:
            raise MetricsError(f"cannot update stage {self.stage} of REST API {self.rest_api_id} "
                               f"(UpdateStage {path}): {error}") from None
