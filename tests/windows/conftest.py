"""tests/windows run against a real Windows host of yours; they reuse the lab helpers that run a module."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'integration'))
