"""The report: statistics, figures, and the Markdown/HTML documents built from them."""
