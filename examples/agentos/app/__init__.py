"""agentos: the example application whose SQL gatecheck reads."""
