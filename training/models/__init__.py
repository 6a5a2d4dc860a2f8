"""The two models blended into "ours": Bayesian PMF and item-based AutoRec, in numpy."""
