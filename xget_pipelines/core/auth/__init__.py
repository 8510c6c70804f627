"""Users, roles, API keys and tokens of the serving API (Dagster-free and FastAPI-free)."""
