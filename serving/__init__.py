"""The model server: SageMaker's container contract (GET /ping, POST /invocations)."""
