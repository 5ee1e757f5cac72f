"""Float64 references for the erase ops of the learned policies (filled in by the erase work)."""
