"""PostgreSQL: the pool, ordered migrations, day partitions, and one repository module per table."""
