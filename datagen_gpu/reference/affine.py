"""Float64 references for the affine ops of the learned policies (filled in by the affine work)."""
