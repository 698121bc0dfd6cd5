"""The licensed export: plan, transforms, engines, shards, manifest and metadata."""
