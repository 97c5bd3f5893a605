"""Worker process: job handlers and the analysis they run."""
