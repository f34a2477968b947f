"""ikg package."""
