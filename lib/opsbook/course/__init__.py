"""The course: notebook runs and exports, evidence index, per-day notebook helpers, deck.

Layer: just below the faces (cli, notebooks); may import every room below it.
"""
