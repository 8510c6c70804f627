-- Dagster's run, event and schedule storage in a database of its own, beside XGet's control plane.
CREATE DATABASE dagster OWNER xget;
