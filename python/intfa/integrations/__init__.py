"""Integrations of intfa with other libraries (imported on demand: each needs its library)."""
