"""The database: tables, schema upgrades, and the stores of runs, batches and presets."""
