"""The agentos example's tests: ``pytest examples/agentos/tests`` (add ``--gatecheck``)."""
