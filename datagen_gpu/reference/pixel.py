"""Float64 references for the pixel ops of the learned policies (filled in by the pixel work)."""
