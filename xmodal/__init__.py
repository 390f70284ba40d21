"""xmodal."""
