"""SQLite storage of runs: schema and migrations, the run recorder, queries."""
