"""The chaos suite: the real processes under faults (killed and rolled workers, Valkey and PostgreSQL
restarts, dead and flaky targets) while organisations keep submitting; afterwards every accepted job is
checked for a single final result and every capacity slot for its release."""
