"""The rollout tool: ``canary`` applies ``core``'s plans, analysis and rollout to a stack through the
adapters its backend chooses (stack file or Pulumi, local runtime or CloudWatch and SageMaker)."""
