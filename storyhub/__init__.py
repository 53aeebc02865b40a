"""storyhub: collaborative, AI-assisted storytelling in real time."""

__version__ = "0.1.0"
