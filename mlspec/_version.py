"""The version, in a module of its own: code that records it (run records, bundles) imports
this, not the package, whose `load` would put the whole scorer in every step's code closure."""

__version__ = "0.1.0"
