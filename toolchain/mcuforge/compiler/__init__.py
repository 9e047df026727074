"""Graph IR to C: kernel choice, memory plan, generated sources."""
