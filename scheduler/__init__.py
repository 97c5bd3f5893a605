"""The scheduler process: data upkeep and re-dispatch of jobs the queue lost."""
