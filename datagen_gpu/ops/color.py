"""Registrations for the color ops (brightness, contrast, saturation, hue, jitter, grayscale, solarize)."""
