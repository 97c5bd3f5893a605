"""Worker autoscaling: a policy from queue truth, and a local supervisor that applies it to worker processes."""
