"""Which model serves which operation: presets, and the cache of loaded models."""
