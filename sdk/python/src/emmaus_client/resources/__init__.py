"""The SDK surfaces, one module per API family."""
