"""Checkpoint Inspector: open any PyTorch checkpoint without running code hidden in it."""

__version__ = "0.1.0"
