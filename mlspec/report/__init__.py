"""The HTML evaluation report: page layout and inline SVG charts (no script, no network)."""
