"""Customer profile sync with field ownership (docs/profile-sync.md)."""
