"""MovieLens data, local training and evaluation, SageMaker Object2Vec jobs, packaging."""
