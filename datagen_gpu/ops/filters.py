"""Registrations for gaussian_blur and normalize."""
