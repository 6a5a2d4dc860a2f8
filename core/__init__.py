"""The domain of the ratings API, free of any cloud SDK, command line or server library.

Everything that decides lives here: the stack config model and its round trip, routing, the
OpenAPI document, names, ARNs and IAM policies, AWS limits, the analysis and the rollout. The
Pulumi components, the local emulator, the ``canary`` tool, training and serving are adapters
around it: they import ``core``, and ``core`` imports none of them (``make lint`` checks it).
"""
