"""upstream flow package."""
