"""One dialog per file; each returns plain options (a dict) and runs nothing itself."""
