"""The step contract: what a step function sees (context, inputs, output, errors)."""
