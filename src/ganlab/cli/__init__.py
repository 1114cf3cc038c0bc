"""Small command-line entry points: evaluate, sample, compare, train-evaluator."""
