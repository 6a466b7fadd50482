"""Pictures. Each module imports matplotlib lazily, inside its functions, with the Agg backend."""
