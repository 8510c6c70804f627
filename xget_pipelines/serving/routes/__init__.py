"""One router per group of endpoints, each mounted under /v1 by app.create_app."""
