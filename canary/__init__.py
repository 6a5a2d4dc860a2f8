"""Canary rollouts of model versions: plan, analyse, apply, and run a whole rollout."""
